/**
 * The queue is the table. Every SQL statement of the pipeline lives here.
 *
 * A worker claims the oldest pending image (or one whose lease expired) with
 * FOR UPDATE SKIP LOCKED, so any number of processes can claim at once
 * without blocking each other or taking the same image. Results are written
 * by a statement guarded by the worker id: a worker that lost its lease
 * (it stalled, another took over) cannot overwrite the new owner's outcome.
 */
import type pg from 'pg';
import type { OutputOptions } from '../contract/output-options.js';
import { readBytea } from '../db/binary-copy.js';
import type { BatchSummary, ImageStatus, ImageSummary, Stats } from '../contract/api.js';

const SUMMARY_COLUMNS = `
  id, batch_id, filename, content_type, status, error, error_code,
  octet_length(original_data) AS original_bytes, octet_length(processed_data) AS processed_bytes,
  original_width, original_height, width, height, attempts, worker_id,
  uploaded_at, started_at, processed_at, processing_ms, output_options, source_path`;

interface SummaryRow {
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
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function toSummary(r: SummaryRow): ImageSummary {
  return {
    id: r.id,
    batchId: r.batch_id ?? '',
    filename: r.filename ?? `image_${r.id}`,
    contentType: r.content_type,
    status: r.status,
    error: r.error,
    errorCode: r.error_code,
    originalBytes: r.original_bytes,
    processedBytes: r.processed_bytes,
    originalWidth: r.original_width,
    originalHeight: r.original_height,
    width: r.width,
    height: r.height,
    attempts: r.attempts,
    workerId: r.worker_id,
    uploadedAt: r.uploaded_at.toISOString(),
    startedAt: iso(r.started_at),
    processedAt: iso(r.processed_at),
    processingMs: r.processing_ms,
    options: r.output_options,
    sourcePath: r.source_path,
  };
}

export interface NewImage {
  /** A pre-allocated id (see `nextId`); else the next one in the sequence. */
  id?: number;
  batchId: string;
  filename: string;
  contentType: string;
  data: Buffer;
  width: number;
  height: number;
}

export interface RejectedImage {
  id?: number;
  batchId: string;
  filename: string;
  contentType: string | null;
  error: string;
  errorCode: string;
}

export interface ClaimedImage {
  id: number;
  attempts: number;
  /** Decode memory the image needs (null for rows stored before it was recorded). */
  decodeBytes: number | null;
  /** The output options it was uploaded with (null: an earlier row, made with the server's rules). */
  options: OutputOptions | null;
}

export interface ListFilter {
  batchId?: string | undefined;
  status?: ImageStatus | undefined;
  limit: number;
  offset: number;
}

export class ImageRepository {
  constructor(private readonly db: pg.Pool) {}

  /**
   * Images whose lease expired MAX_ATTEMPTS times were being processed by
   * workers that died each time: stop retrying them.
   */
  async failExhausted(maxAttempts: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE processed_images
          SET status = 'failed', error_code = 'WORKER_CRASHED',
              error = format('worker crashed %s times while processing this image', attempts),
              processed_at = now(), worker_id = NULL, lease_expires_at = NULL
        WHERE status = 'processing' AND lease_expires_at < now() AND attempts >= $1`,
      [maxAttempts],
    );
    return rowCount ?? 0;
  }

  /** Claims up to `limit` images for `workerId`: pending ones first-come first-served, or ones whose lease expired. */
  async claim(workerId: string, limit: number, leaseSeconds: number, maxAttempts: number): Promise<ClaimedImage[]> {
    const { rows } = await this.db.query<ClaimedImage>(
      `WITH candidates AS (
         SELECT id FROM processed_images
          WHERE status = 'pending'
             OR (status = 'processing' AND lease_expires_at < now() AND attempts < $4)
          ORDER BY id
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       UPDATE processed_images p
          SET status = 'processing', worker_id = $1, attempts = p.attempts + 1,
              lease_expires_at = now() + make_interval(secs => $3),
              started_at = clock_timestamp(), error = NULL, error_code = NULL
         FROM candidates c
        WHERE p.id = c.id
       RETURNING p.id, p.attempts, p.decode_bytes AS "decodeBytes", p.output_options AS options`,
      [workerId, limit, leaseSeconds, maxAttempts],
    );
    return rows.sort((a, b) => a.id - b.id);
  }

  /** The original bytes, fetched in binary so 5 MB do not travel as 10 MB of hex. */
  async originalData(id: number): Promise<Buffer | null> {
    return this.bytea('original_data', id);
  }

  async processedData(id: number): Promise<Buffer | null> {
    return this.bytea('processed_data', id);
  }

  private async bytea(column: 'original_data' | 'processed_data', id: number): Promise<Buffer | null> {
    return (await readBytea(this.db, 'processed_images', column, id)) ?? null;
  }

  /**
   * Extends the leases this worker still holds. Returns what was renewed,
   * and the ids another worker now holds (taken over after our lease
   * expired); an image we just finished ourselves is neither.
   */
  async renewLeases(workerId: string, ids: number[], leaseSeconds: number): Promise<{ renewed: number[]; lost: number[] }> {
    if (ids.length === 0) return { renewed: [], lost: [] };
    const { rows } = await this.db.query<{ id: number }>(
      `UPDATE processed_images SET lease_expires_at = now() + make_interval(secs => $3)
        WHERE id = ANY($2::bigint[]) AND worker_id = $1 AND status = 'processing'
       RETURNING id`,
      [workerId, ids, leaseSeconds],
    );
    const renewed = rows.map((r) => r.id);
    if (renewed.length === ids.length) return { renewed, lost: [] };
    const done = new Set(renewed);
    const { rows: taken } = await this.db.query<{ id: number }>(
      `SELECT id FROM processed_images
        WHERE id = ANY($2::bigint[]) AND status = 'processing' AND worker_id IS DISTINCT FROM $1`,
      [workerId, ids.filter((id) => !done.has(id))],
    );
    return { renewed, lost: taken.map((r) => r.id) };
  }

  /**
   * An image that ran out of time: back to `pending` for another try (the
   * attempt counts), or `failed` with the reason once `maxAttempts` are used.
   */
  async retryLater(id: number, workerId: string, error: string, errorCode: string, maxAttempts: number): Promise<'pending' | 'failed' | 'lost'> {
    const { rows } = await this.db.query<{ status: 'pending' | 'failed' }>(
      `UPDATE processed_images
          SET status = CASE WHEN attempts >= $5 THEN 'failed' ELSE 'pending' END,
              error = CASE WHEN attempts >= $5 THEN $3 END,
              error_code = CASE WHEN attempts >= $5 THEN $4 END,
              processed_at = CASE WHEN attempts >= $5 THEN now() END,
              worker_id = NULL, lease_expires_at = NULL, started_at = NULL
        WHERE id = $1 AND worker_id = $2 AND status = 'processing'
       RETURNING status`,
      [id, workerId, error, errorCode, maxAttempts],
    );
    return rows[0]?.status ?? 'lost';
  }

  /** Writes the result and `completed` in one statement; false if the lease was lost. */
  async complete(id: number, workerId: string, result: { data: Buffer; width: number; height: number; processingMs: number }): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE processed_images
          SET status = 'completed', processed_data = $3, width = $4, height = $5,
              processing_ms = $6, processed_at = now(), lease_expires_at = NULL
        WHERE id = $1 AND worker_id = $2 AND status = 'processing'`,
      [id, workerId, result.data, result.width, result.height, Math.round(result.processingMs)],
    );
    return rowCount === 1;
  }

  async fail(id: number, workerId: string, error: string, errorCode: string, processingMs: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE processed_images
          SET status = 'failed', error = $3, error_code = $4, processing_ms = $5,
              processed_at = now(), lease_expires_at = NULL
        WHERE id = $1 AND worker_id = $2 AND status = 'processing'`,
      [id, workerId, error, errorCode, Math.round(processingMs)],
    );
    return rowCount === 1;
  }

  /**
   * Hands unfinished images back (graceful shutdown). They were not crashes,
   * so the attempt does not count.
   */
  async release(workerId: string, ids: number[]): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE processed_images
          SET status = 'pending', worker_id = NULL, lease_expires_at = NULL, started_at = NULL,
              attempts = greatest(attempts - 1, 0)
        WHERE worker_id = $1 AND status = 'processing' AND id = ANY($2::bigint[])`,
      [workerId, ids],
    );
    return rowCount ?? 0;
  }

  async get(id: number): Promise<ImageSummary | null> {
    const { rows } = await this.db.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM processed_images WHERE id = $1`, [id]);
    return rows[0] ? toSummary(rows[0]) : null;
  }

  async list(filter: ListFilter): Promise<{ images: ImageSummary[]; total: number }> {
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
    const page = await this.db.query<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM processed_images ${clause}
        ORDER BY id ${filter.batchId ? 'ASC' : 'DESC'}
        LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { images: page.rows.map(toSummary), total: total.rows[0]!.n };
  }

  /** Completed images of a batch (optionally only `ids`), in id order (for the ZIP stream). */
  async completedIds(batchId: string, ids?: number[]): Promise<{ id: number; filename: string }[]> {
    const { rows } = await this.db.query<{ id: number; filename: string | null }>(
      `SELECT id, filename FROM processed_images
        WHERE batch_id = $1 AND status = 'completed' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
        ORDER BY id`,
      [batchId, ids ?? null],
    );
    return rows.map((r) => ({ id: r.id, filename: r.filename ?? `image_${r.id}` }));
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

  /** Failed → pending again, with a fresh attempt budget. */
  async retry(id: number): Promise<'retried' | 'not-found' | 'not-failed' | 'no-data'> {
    const { rows } = await this.db.query<{ id: number }>(
      `UPDATE processed_images
          SET status = 'pending', error = NULL, error_code = NULL, attempts = 0, worker_id = NULL,
              lease_expires_at = NULL, started_at = NULL, processed_at = NULL, processing_ms = NULL
        WHERE id = $1 AND status = 'failed' AND original_data IS NOT NULL
       RETURNING id`,
      [id],
    );
    if (rows.length === 1) return 'retried';
    const current = await this.db.query<{ status: string; has_data: boolean }>(
      'SELECT status, original_data IS NOT NULL AS has_data FROM processed_images WHERE id = $1',
      [id],
    );
    const row = current.rows[0];
    if (!row) return 'not-found';
    return row.status !== 'failed' ? 'not-failed' : 'no-data';
  }

  async delete(id: number): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM processed_images WHERE id = $1', [id]);
    return rowCount === 1;
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

  async recent(limit: number): Promise<ImageSummary[]> {
    const { rows } = await this.db.query<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM processed_images ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toSummary);
  }

  /** Images waiting for a worker, cluster-wide (cheap: a partial index). */
  async pendingCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM processed_images WHERE status = 'pending'`);
    return rows[0]!.n;
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /** Idempotency keys older than `ttlHours` are forgotten (a retry after that stores again). */
  async forgetUploadKeys(ttlHours: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM upload_requests WHERE created_at < now() - make_interval(secs => $1) AND response IS NOT NULL`,
      [ttlHours * 3600],
    );
    return rowCount ?? 0;
  }
}
