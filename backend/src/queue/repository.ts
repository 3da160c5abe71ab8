/**
 * The queue is the table. The lease protocol's SQL lives here (what the
 * dispatcher claims, renews and writes); uploads are inserted by ingest.ts,
 * and what the API reads is in catalogue.ts.
 *
 * A worker claims the oldest pending image (or one whose lease expired) with
 * FOR UPDATE SKIP LOCKED, so any number of processes can claim at once
 * without blocking each other or taking the same image. Results are written
 * by a statement guarded by the worker id: a worker that lost its lease
 * (it stalled, another took over) cannot overwrite the new owner's outcome.
 */
import type pg from 'pg';
import type { BlobStore } from '../blobs/blob-store.js';
import type { OutputOptions } from '../contract/output-options.js';
import { withClient } from '../db/pool.js';
import { legacyJobNeeds, type JobNeeds } from '../imaging/job-cost.js';
import type { CompletedResult } from './dispatcher-seams.js';

export interface ClaimedImage {
  id: number;
  attempts: number;
  /** The output options it was uploaded with (null: an earlier row, made with the server's rules). */
  options: OutputOptions | null;
  /** What its job needs, as measured at upload (legacyJobNeeds for rows stored before). */
  cost: JobNeeds;
  /** Its original's blob key (null: the bytes are in the row, the postgres store's way). */
  originalKey: string | null;
}

interface ClaimedRow {
  id: number;
  attempts: number;
  decode_bytes: number | null;
  job_memory_bytes: number | null;
  job_cpu_ms: number | null;
  options: OutputOptions | null;
  original_key: string | null;
}

export class ImageRepository {
  constructor(
    private readonly db: pg.Pool,
    /** Where results' bytes go: the postgres store writes them into the row in the completing transaction. */
    private readonly blobs: BlobStore,
  ) {}

  /**
   * Images whose lease expired MAX_ATTEMPTS times were being processed by
   * workers that died each time: stop retrying them.
   */
  async failExhausted(maxAttempts: number): Promise<number> {
    const { rowCount } = await this.db.query({
      name: 'imgfleet-fail-exhausted',
      text: `UPDATE processed_images
          SET status = 'failed', error_code = 'WORKER_CRASHED',
              error = format('worker crashed %s times while processing this image', attempts),
              processed_at = now(), worker_id = NULL, lease_expires_at = NULL
        WHERE status = 'processing' AND lease_expires_at < now() AND attempts >= $1`,
      values: [maxAttempts],
    });
    return rowCount ?? 0;
  }

  /**
   * Claims up to `limit` images for `workerId`: pending ones first-come
   * first-served (except those an upload handed to a pod's next free thread,
   * while that pod's hold lasts), or ones whose lease expired.
   */
  async claim(workerId: string, limit: number, leaseSeconds: number, maxAttempts: number, defaults: OutputOptions): Promise<ClaimedImage[]> {
    const { rows } = await this.db.query<ClaimedRow>({
      name: 'imgfleet-claim',
      text: `WITH candidates AS (
         SELECT id FROM processed_images
          WHERE (status = 'pending' AND (worker_id IS NULL OR lease_expires_at < now()))
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
       RETURNING p.id, p.attempts, p.decode_bytes, p.job_memory_bytes, p.job_cpu_ms, p.output_options AS options, p.original_key`,
      values: [workerId, limit, leaseSeconds, maxAttempts],
    });
    return rows
      .map((r) => ({
        id: r.id,
        attempts: r.attempts,
        options: r.options,
        originalKey: r.original_key,
        cost:
          r.job_memory_bytes !== null && r.job_cpu_ms !== null
            ? { memoryBytes: r.job_memory_bytes, cpuMs: r.job_cpu_ms }
            : legacyJobNeeds(r.decode_bytes, r.options ?? defaults),
      }))
      .sort((a, b) => a.id - b.id);
  }

  /**
   * A handed-over image this worker holds (pending, leased to it) starts:
   * `processing` from now on. False when the hold was lost meanwhile.
   */
  async startHeld(id: number, workerId: string, leaseSeconds: number): Promise<boolean> {
    const { rowCount } = await this.db.query({
      name: 'imgfleet-start-held',
      text: `UPDATE processed_images
          SET status = 'processing', attempts = attempts + 1, started_at = clock_timestamp(),
              lease_expires_at = clock_timestamp() + make_interval(secs => $3)
        WHERE id = $1 AND worker_id = $2 AND status = 'pending'`,
      values: [id, workerId, leaseSeconds],
    });
    return rowCount === 1;
  }

  /**
   * Extends the leases this worker still holds (images it processes, and
   * handed-over ones waiting for its thread). Returns what was renewed,
   * and the ids another worker now holds (taken over after our lease
   * expired); an image we just finished ourselves is neither.
   */
  async renewLeases(workerId: string, ids: number[], leaseSeconds: number): Promise<{ renewed: number[]; lost: number[] }> {
    if (ids.length === 0) return { renewed: [], lost: [] };
    const { rows } = await this.db.query<{ id: number }>({
      name: 'imgfleet-renew-leases',
      text: `UPDATE processed_images SET lease_expires_at = now() + make_interval(secs => $3)
        WHERE id = ANY($2::bigint[]) AND worker_id = $1 AND status IN ('pending', 'processing')
       RETURNING id`,
      values: [workerId, ids, leaseSeconds],
    });
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

  /**
   * Writes the result's place and `completed` in one statement guarded by
   * the worker id; false if the lease was lost. A result staged in memory
   * (the postgres store) is attached in the same transaction.
   */
  async complete(id: number, workerId: string, result: CompletedResult): Promise<boolean> {
    if (!result.blob.data) return this.markCompleted(this.db, id, workerId, result);
    return withClient(this.db, async (client) => {
      await client.query('BEGIN');
      try {
        const done = await this.markCompleted(client, id, workerId, result);
        if (done) await this.blobs.attach(client, id, result.blob);
        await client.query('COMMIT');
        return done;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async markCompleted(db: Pick<pg.ClientBase, 'query'>, id: number, workerId: string, result: CompletedResult): Promise<boolean> {
    const { rowCount } = await db.query({
      name: 'imgfleet-complete',
      text: `UPDATE processed_images
          SET status = 'completed', processed_key = $6, processed_bytes = $7, width = $3, height = $4,
              processing_ms = $5, output_quality = $8, processed_at = now(), lease_expires_at = NULL
        WHERE id = $1 AND worker_id = $2 AND status = 'processing'`,
      values: [id, workerId, result.width, result.height, Math.round(result.processingMs), result.blob.key, result.blob.size, result.quality ?? null],
    });
    return rowCount === 1;
  }

  async fail(id: number, workerId: string, error: string, errorCode: string, processingMs: number): Promise<boolean> {
    const { rowCount } = await this.db.query({
      name: 'imgfleet-fail',
      text: `UPDATE processed_images
          SET status = 'failed', error = $3, error_code = $4, processing_ms = $5,
              processed_at = now(), lease_expires_at = NULL
        WHERE id = $1 AND worker_id = $2 AND status = 'processing'`,
      values: [id, workerId, error, errorCode, Math.round(processingMs)],
    });
    return rowCount === 1;
  }

  /**
   * Hands unfinished images back (graceful shutdown), with the handed-over
   * ones still waiting. They were not crashes, so the attempt does not count.
   */
  async release(workerId: string, ids: number[]): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE processed_images
          SET status = 'pending', worker_id = NULL, lease_expires_at = NULL, started_at = NULL,
              attempts = CASE WHEN status = 'processing' THEN greatest(attempts - 1, 0) ELSE attempts END
        WHERE worker_id = $1 AND status IN ('pending', 'processing') AND id = ANY($2::bigint[])`,
      [workerId, ids],
    );
    return rowCount ?? 0;
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /** Idempotency keys older than `ttlHours` are forgotten (a retry after that stores again). */
  async forgetUploadKeys(ttlHours: number): Promise<number> {
    const { rowCount } = await this.db.query(`DELETE FROM upload_requests WHERE created_at < now() - make_interval(secs => $1) AND response IS NOT NULL`, [
      ttlHours * 3600,
    ]);
    return rowCount ?? 0;
  }
}
