/**
 * The SQL of storage bounds: dropping expired originals, deleting expired or
 * unwanted batches. Every statement touches at most `limit` rows, so none
 * holds row locks (or TOAST deletions) for long; callers loop.
 *
 * Rows other statements hold (a claim, a result being written) are skipped
 * by the sweep (SKIP LOCKED) and taken on a later run; an explicit batch
 * delete waits for them instead, since the person asked for that batch.
 */
import type pg from 'pg';
import type { BlobStore } from '../blobs/blob-store.js';
import type { BatchDeletion, ImageStatus } from '../contract/api.js';
import { blobRefsOf } from '../queue/catalogue.js';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

const emptyCounts = (): Record<ImageStatus, number> => ({ pending: 0, processing: 0, completed: 0, failed: 0 });

/**
 * Originals of images finished more than `hours` ago: the row forgets them
 * and records the drop, then the store removes their bytes. Returns how many.
 */
export async function dropExpiredOriginals(db: Queryable, blobs: BlobStore, hours: number, limit: number): Promise<number> {
  const { rows } = await db.query<{ id: number; original_key: string | null }>(
    `WITH expired AS (
       SELECT id, original_key FROM processed_images
        WHERE original_bytes IS NOT NULL AND status IN ('completed', 'failed')
          AND processed_at < now() - $1 * interval '1 hour'
        ORDER BY processed_at
        LIMIT $2
          FOR UPDATE SKIP LOCKED
     )
     UPDATE processed_images p
        SET original_key = NULL, original_bytes = NULL, original_dropped_at = now()
       FROM expired e
      WHERE p.id = e.id
     RETURNING e.id, e.original_key`,
    [hours, limit],
  );
  await blobs.remove(blobRefsOf(rows), db);
  return rows.length;
}

/**
 * Batches whose last activity (newest upload or finished image) is older
 * than `days`, with nothing still queued or processing. A batch at work is
 * never expired, however old.
 */
export async function expiredBatches(db: Queryable, days: number, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ batch_id: string }>(
    `SELECT batch_id FROM processed_images
      WHERE batch_id IS NOT NULL
      GROUP BY batch_id
     HAVING max(greatest(uploaded_at, coalesce(processed_at, uploaded_at))) < now() - $1 * interval '1 day'
        AND bool_and(status IN ('completed', 'failed'))
      LIMIT $2`,
    [days, limit],
  );
  return rows.map((r) => r.batch_id);
}

/**
 * Deletes up to `limit` rows of an expired batch. The statement checks the
 * expiry again itself: a retry or an upload into the batch since
 * `expiredBatches` looked keeps it.
 */
export async function deleteExpiredBatchRows(db: Queryable, blobs: BlobStore, batchId: string, days: number, limit: number): Promise<number> {
  const { rows } = await db.query<{ id: number; original_key: string | null; processed_key: string | null }>(
    `DELETE FROM processed_images
      WHERE id IN (SELECT id FROM processed_images WHERE batch_id = $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
        AND NOT EXISTS (
          SELECT 1 FROM processed_images n
           WHERE n.batch_id = $1
             AND (n.status IN ('pending', 'processing')
                  OR greatest(n.uploaded_at, coalesce(n.processed_at, n.uploaded_at)) >= now() - $2 * interval '1 day'))
     RETURNING id, original_key, processed_key`,
    [batchId, days, limit],
  );
  await blobs.remove(blobRefsOf(rows), db);
  return rows.length;
}

/**
 * DELETE /api/v1/batches/:id: every row of the batch, whatever its status,
 * `limit` rows a statement. Images still processing are deleted too; their
 * worker's guarded write then matches no row and changes nothing. Rows an
 * upload adds to the batch after the last statement stay. Null when the
 * batch has no row.
 */
export async function deleteBatch(db: Queryable, blobs: BlobStore, batchId: string, limit: number): Promise<BatchDeletion | null> {
  const counts = emptyCounts();
  let deleted = 0;
  for (;;) {
    const { rows } = await db.query<{ id: number; status: ImageStatus; original_key: string | null; processed_key: string | null }>(
      `DELETE FROM processed_images
        WHERE id IN (SELECT id FROM processed_images WHERE batch_id = $1 ORDER BY id LIMIT $2 FOR UPDATE)
       RETURNING id, status, original_key, processed_key`,
      [batchId, limit],
    );
    await blobs.remove(blobRefsOf(rows), db);
    for (const r of rows) counts[r.status]++;
    deleted += rows.length;
    if (rows.length < limit) break;
  }
  return deleted === 0 ? null : { batchId, deleted, ...counts };
}

/** When the retention policy dropped this image's original; null if it did not (or no such image). */
export async function originalDroppedAt(db: Queryable, id: number): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>('SELECT original_dropped_at AS at FROM processed_images WHERE id = $1', [id]);
  return rows[0]?.at ?? null;
}
