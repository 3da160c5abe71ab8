/**
 * What the API reads and changes on behalf of a person: one image, lists
 * by batch and status, a batch's counts, statistics, retry and delete.
 * Rows come back as stored (ImageRow); http/image-summary.ts turns them into
 * the API's shapes.
 */
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { isBlobStoreError, type BlobKind, type BlobRef, type BlobStore, type ByteRange } from '../blobs/blob-store.js';
import type { BatchListItem, BatchSummary, ImageStatus, Stats } from '../contract/api.js';
import type { OutputOptions } from '../contract/output-options.js';

export const IMAGE_ROW_COLUMNS = `
  id, batch_id, filename, content_type, status, error, error_code,
  original_bytes, processed_bytes, original_key, processed_key,
  original_width, original_height, width, height, attempts, worker_id,
  uploaded_at, started_at, processed_at, processing_ms, output_options, source_path, output_quality`;

export interface ImageRow {
  id: number;
  batch_id: string | null;
  filename: string | null;
  content_type: string | null;
  status: ImageStatus;
  error: string | null;
  error_code: string | null;
  original_bytes: number | null;
  processed_bytes: number | null;
  original_width: number | null;
  original_height: number | null;
  width: number | null;
  height: number | null;
  attempts: number;
  worker_id: string | null;
  uploaded_at: Date;
  started_at: Date | null;
  processed_at: Date | null;
  processing_ms: number | null;
  output_options: OutputOptions | null;
  source_path: string | null;
  /** Where its bytes are in the blob store (null: in the row's columns, or none). */
  original_key: string | null;
  processed_key: string | null;
  /** The quality the result was encoded at (its options', or the one a target size chose). */
  output_quality: number | null;
}

/** A row's blob, as the store finds it. */
export function blobRefOf(row: Pick<ImageRow, 'id' | 'original_key' | 'processed_key'>, kind: BlobKind): BlobRef {
  return { imageId: row.id, kind, key: kind === 'original' ? row.original_key : row.processed_key };
}

/** Both blobs of rows that are gone (deleted, or their original dropped), for the store to remove after the commit. */
export function blobRefsOf(rows: readonly { id: number; original_key: string | null; processed_key?: string | null }[]): BlobRef[] {
  return rows.flatMap((r) => [
    { imageId: r.id, kind: 'original' as const, key: r.original_key },
    ...(r.processed_key === undefined ? [] : [{ imageId: r.id, kind: 'result' as const, key: r.processed_key }]),
  ]);
}

export interface ListFilter {
  batchId?: string | undefined;
  status?: ImageStatus | undefined;
  limit: number;
  offset: number;
}

export class ImageCatalogue {
  constructor(
    private readonly db: pg.Pool,
    private readonly blobs: BlobStore,
  ) {}

  /** An image's original or result as a stream (a range of it), or null when it has none (or it is gone from the store). */
  async open(id: number, kind: BlobKind, range?: ByteRange): Promise<Readable | null> {
    const { rows } = await this.db.query<Pick<ImageRow, 'id' | 'original_key' | 'processed_key'>>(
      'SELECT id, original_key, processed_key FROM processed_images WHERE id = $1',
      [id],
    );
    if (!rows[0]) return null;
    try {
      return await this.blobs.open(blobRefOf(rows[0], kind), range);
    } catch (err) {
      if (isBlobStoreError(err, 'not-found')) return null;
      throw err;
    }
  }

  /** The same, whole in memory. */
  async read(id: number, kind: BlobKind): Promise<Buffer | null> {
    const stream = await this.open(id, kind);
    if (!stream) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async processedData(id: number): Promise<Buffer | null> {
    return this.read(id, 'result');
  }

  async originalData(id: number): Promise<Buffer | null> {
    return this.read(id, 'original');
  }

  async get(id: number): Promise<ImageRow | null> {
    const { rows } = await this.db.query<ImageRow>(`SELECT ${IMAGE_ROW_COLUMNS} FROM processed_images WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async list(filter: ListFilter): Promise<{ images: ImageRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.batchId) {
      params.push(filter.batchId);
      where.push(`batch_id = $${params.length}`);
    }
    if (filter.status) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM processed_images ${clause}`, params);
    const page = await this.db.query<ImageRow>(
      `SELECT ${IMAGE_ROW_COLUMNS} FROM processed_images ${clause}
        ORDER BY id ${filter.batchId ? 'ASC' : 'DESC'}
        LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { images: page.rows, total: total.rows[0]!.n };
  }

  async batch(batchId: string): Promise<BatchSummary | null> {
    const { rows } = await this.db.query<{ status: ImageStatus; n: number }>(
      'SELECT status, count(*) AS n FROM processed_images WHERE batch_id = $1 GROUP BY status',
      [batchId],
    );
    if (rows.length === 0) return null;
    const summary: BatchSummary = { batchId, total: 0, pending: 0, processing: 0, completed: 0, failed: 0 };
    for (const r of rows) {
      summary[r.status] = r.n;
      summary.total += r.n;
    }
    return summary;
  }

  /**
   * A page of batches, the latest upload first, each with its counts by
   * status and the bytes of its completed images whose original is still
   * stored (the saving can only be told for those). The count of batches is
   * a second statement: a batch made in between may shift a page by one.
   */
  async batches(page: { limit: number; offset: number }): Promise<{ batches: BatchListItem[]; total: number }> {
    const { rows } = await this.db.query<{
      batch_id: string;
      created_at: Date;
      updated_at: Date;
      total: number;
      pending: number;
      processing: number;
      completed: number;
      failed: number;
      original_bytes: number;
      result_bytes: number;
    }>(
      `SELECT batch_id, min(uploaded_at) AS created_at, greatest(max(uploaded_at), max(processed_at)) AS updated_at,
              count(*) AS total,
              count(*) FILTER (WHERE status = 'pending') AS pending,
              count(*) FILTER (WHERE status = 'processing') AS processing,
              count(*) FILTER (WHERE status = 'completed') AS completed,
              count(*) FILTER (WHERE status = 'failed') AS failed,
              coalesce(sum(original_bytes) FILTER (WHERE status = 'completed' AND original_bytes IS NOT NULL), 0)::bigint AS original_bytes,
              coalesce(sum(processed_bytes) FILTER (WHERE status = 'completed' AND original_bytes IS NOT NULL), 0)::bigint AS result_bytes
         FROM processed_images
        WHERE batch_id IS NOT NULL
        GROUP BY batch_id
        ORDER BY max(uploaded_at) DESC, batch_id
        LIMIT $1 OFFSET $2`,
      [page.limit, page.offset],
    );
    const count = await this.db.query<{ n: number }>('SELECT count(DISTINCT batch_id) AS n FROM processed_images WHERE batch_id IS NOT NULL');
    return {
      batches: rows.map((r) => ({
        batchId: r.batch_id,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
        total: r.total,
        pending: r.pending,
        processing: r.processing,
        completed: r.completed,
        failed: r.failed,
        originalBytes: r.original_bytes,
        resultBytes: r.result_bytes,
      })),
      total: count.rows[0]?.n ?? 0,
    };
  }

  /** Failed → pending again, with a fresh attempt budget. */
  async retry(id: number): Promise<'retried' | 'not-found' | 'not-failed' | 'no-data'> {
    const { rows } = await this.db.query<{ id: number }>(
      `UPDATE processed_images
          SET status = 'pending', error = NULL, error_code = NULL, attempts = 0, worker_id = NULL,
              lease_expires_at = NULL, started_at = NULL, processed_at = NULL, processing_ms = NULL
        WHERE id = $1 AND status = 'failed' AND original_bytes IS NOT NULL
       RETURNING id`,
      [id],
    );
    if (rows.length === 1) return 'retried';
    const current = await this.db.query<{ status: string; has_data: boolean }>(
      'SELECT status, original_bytes IS NOT NULL AS has_data FROM processed_images WHERE id = $1',
      [id],
    );
    const row = current.rows[0];
    if (!row) return 'not-found';
    return row.status !== 'failed' ? 'not-failed' : 'no-data';
  }

  /** Deletes the row, then its blobs (once the delete is done, so a failure leaves an orphan for the sweep, never a row without its bytes). */
  async delete(id: number): Promise<boolean> {
    const { rows } = await this.db.query<{ id: number; original_key: string | null; processed_key: string | null }>(
      'DELETE FROM processed_images WHERE id = $1 RETURNING id, original_key, processed_key',
      [id],
    );
    if (rows.length === 0) return false;
    await this.blobs.remove(blobRefsOf(rows)).catch(() => undefined);
    return true;
  }

  async counts(): Promise<Omit<Stats, 'activeThreads' | 'totalThreads' | 'processedCount' | 'pod' | 'recent'>> {
    const { rows } = await this.db.query<{ status: ImageStatus; n: number; avg_ms: number | null }>(
      `SELECT status, count(*) AS n, avg(processing_ms)::float8 AS avg_ms FROM processed_images GROUP BY status`,
    );
    const c = { total: 0, pending: 0, processing: 0, completed: 0, failed: 0, queueSize: 0, avgProcessingMs: null as number | null };
    for (const r of rows) {
      c[r.status] = r.n;
      c.total += r.n;
      if (r.status === 'completed') c.avgProcessingMs = r.avg_ms;
    }
    c.queueSize = c.pending;
    return c;
  }

  async recent(limit: number): Promise<ImageRow[]> {
    const { rows } = await this.db.query<ImageRow>(`SELECT ${IMAGE_ROW_COLUMNS} FROM processed_images ORDER BY id DESC LIMIT $1`, [limit]);
    return rows;
  }

  /** Images waiting for a worker, cluster-wide (cheap: a partial index). */
  async pendingCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM processed_images WHERE status = 'pending'`);
    return rows[0]!.n;
  }
}
