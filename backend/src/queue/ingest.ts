/**
 * Storing one upload request: every file of it, and its Idempotency-Key with
 * the answer, in ONE transaction. A request that fails or is cut off (client
 * gone, malformed body, timeout, database restart, SIGKILL of this pod)
 * leaves nothing behind, so its retry stores everything exactly once; a
 * committed one is found again by its key.
 *
 * Each file's bytes are already durable in the blob store when its row is
 * inserted (the upload streamed them there), so a committed row never names
 * a missing blob; a rolled-back request's blobs are dropped.
 *
 * `enqueue` owns the hand-off to the worker pool: when this process has a
 * free thread the image is inserted already leased to it and resized at once
 * from the blob just stored, overlapping the rest of the upload; its result
 * is written only once the transaction has committed (and dropped if it
 * rolled back). When every thread is busy but the hand-off has room, it is
 * inserted `pending` held by this worker and waits for the next free thread.
 * Otherwise it is inserted `pending` and NOTIFY (sent at commit) wakes
 * whichever pod is free.
 */
import type pg from 'pg';
import type { BlobStore, StagedBlob } from '../blobs/blob-store.js';
import type { OutputOptions } from '../contract/output-options.js';
import type { JobNeeds } from '../imaging/job-cost.js';
import type { Dispatcher, StoredRow } from './dispatcher.js';

export interface IngestImage {
  batchId: string;
  filename: string;
  contentType: string;
  /** The original, durable in the blob store (or, for the postgres store, in hand until its row is written). */
  original: StagedBlob;
  width: number;
  height: number;
  /** Memory the decode needs, bytes. */
  decodeBytes: number;
  /** What its job needs (admission and time limit), from its header and options. */
  cost: JobNeeds;
  /** The batch's output options, resolved. */
  options: OutputOptions;
  /** The file's path below the dropped folder, when it came from one. */
  sourcePath: string | null;
}

export interface IngestRejection {
  batchId: string;
  filename: string;
  options: OutputOptions;
  sourcePath: string | null;
  contentType: string | null;
  error: string;
  errorCode: string;
}

export interface EnqueueOutcome {
  id: number;
  /** `processing`: a thread of this pod took it; `pending`: queued for any pod. */
  status: 'processing' | 'pending';
}

/** The first answer to a request with this key (a retry gets it again). */
export interface StoredAnswer {
  fingerprint: string;
  statusCode: number;
  body: string;
}

export class IngestTransaction {
  private readonly claimedIds: number[] = [];
  /** Blobs this request stored: dropped if it rolls back (a committed row names each of them). */
  private readonly staged: StagedBlob[] = [];
  private readonly outcome = Promise.withResolvers<boolean>();
  private readonly settle = this.outcome.resolve;
  /** Resolves true once committed, false once rolled back: local resizes wait on it before writing. */
  readonly committed = this.outcome.promise;
  private finished = false;

  private constructor(
    private readonly client: pg.PoolClient,
    private readonly blobs: BlobStore,
    private readonly dispatcher: Dispatcher | undefined,
  ) {}

  /**
   * `heartbeatMs`: while the transaction is open, a statement is sent at
   * least this often, so the connection's idle_in_transaction_session_timeout
   * (longer) only ever ends the transaction of a pod that froze or lost its
   * network: a slow client's upload keeps its transaction, a frozen pod's
   * Idempotency-Key is released.
   */
  static async begin(db: pg.Pool, blobs: BlobStore, dispatcher?: Dispatcher, keyWaitMs = 30_000, heartbeatMs?: number): Promise<IngestTransaction> {
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      // A safety net: no statement of an upload should wait on a lock (see claimKey).
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(keyWaitMs))}`);
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    const tx = new IngestTransaction(client, blobs, dispatcher);
    if (heartbeatMs) tx.beat(heartbeatMs);
    return tx;
  }

  private heartbeat: NodeJS.Timeout | undefined;
  private pulse: Promise<unknown> = Promise.resolve();

  private beat(everyMs: number): void {
    this.heartbeat = setInterval(() => {
      // Queued behind any statement in progress; a failure shows in the next real statement too.
      this.pulse = this.client.query('SELECT 1').catch(() => undefined);
    }, everyMs);
    this.heartbeat.unref();
  }

  /** No heartbeat may be queued on the client once it goes back to the pool. */
  private async stopBeating(): Promise<void> {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    await this.pulse;
  }

  /**
   * Takes the key for this request. Returns undefined when the key is new
   * (this request goes on), the stored first answer, or 'in-progress' at
   * once when a concurrent request holds the key: nothing here waits (a
   * waiting request would hold an upload slot and a connection for as long
   * as the holder takes). The transaction-scoped advisory lock on the key
   * is held by its holder until it commits or rolls back, so the insert
   * below never waits on the holder's uncommitted row.
   */
  async claimKey(key: string): Promise<StoredAnswer | undefined | 'in-progress'> {
    const locked = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7218)) AS ok', [key]);
    if (!locked.rows[0]?.ok) return 'in-progress';
    const inserted = await this.client.query('INSERT INTO upload_requests (key) VALUES ($1) ON CONFLICT (key) DO NOTHING RETURNING key', [key]);
    if (inserted.rowCount === 1) return undefined;
    const { rows } = await this.client.query<{ fingerprint: string; status_code: number; response: string }>(
      'SELECT fingerprint, status_code, response FROM upload_requests WHERE key = $1',
      [key],
    );
    const row = rows[0]!;
    return { fingerprint: row.fingerprint, statusCode: row.status_code, body: row.response };
  }

  /**
   * Inserts the image's row, naming its original (already durable in the
   * blob store; the postgres store writes the bytes into the row here). The
   * blob is this request's until it commits: a rollback drops it.
   */
  async enqueue(image: IngestImage): Promise<EnqueueOutcome> {
    this.staged.push(image.original);
    const local = this.dispatcher?.reserveLocal(image.original.data?.length ?? 0);
    if (!local) {
      const id = await this.insertPending(image);
      await this.blobs.attach(this.client, id, image.original);
      return { id, status: 'pending' };
    }
    // The resize starts now, from the stored blob (or a copy of the bytes of its own, transferred to the thread),
    // while the row is inserted: the two overlap.
    const { promise: storedRow, resolve: stored } = Promise.withResolvers<StoredRow | undefined>();
    const { key, data } = image.original;
    local.start(data ? { key, data: Buffer.from(data) } : { key }, image.cost, image.options, storedRow);
    try {
      const status = local.handedOver ? 'pending' : 'processing';
      const id = await this.insertLeased(image, status, this.dispatcher!.workerId, this.dispatcher!.leaseSeconds);
      await this.blobs.attach(this.client, id, image.original);
      this.claimedIds.push(id);
      stored({ id, committed: this.committed });
      return { id, status };
    } catch (err) {
      stored(undefined);
      throw err;
    }
  }

  /** A file refused at upload is kept as `failed` with its reason, so its batch shows it. */
  async reject(r: IngestRejection): Promise<number> {
    const { rows } = await this.client.query<{ id: number }>({
      name: 'imgfleet-insert-rejected',
      text: `INSERT INTO processed_images (batch_id, filename, content_type, status, error, error_code, processed_at, output_options, source_path)
       VALUES ($1, $2, $3, 'failed', $4, $5, now(), $6, $7)
       RETURNING id`,
      values: [r.batchId, r.filename, r.contentType, r.error, r.errorCode, JSON.stringify(r.options), r.sourcePath],
    });
    return rows[0]!.id;
  }

  private async insertPending(img: IngestImage): Promise<number> {
    const { rows } = await this.client.query<{ id: number }>({
      name: 'imgfleet-insert-pending',
      text: `INSERT INTO processed_images (batch_id, filename, content_type, original_width, original_height, decode_bytes,
                                     output_options, source_path, job_memory_bytes, job_cpu_ms, original_key, original_bytes, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending')
       RETURNING id`,
      values: imageColumns(img),
    });
    return rows[0]!.id;
  }

  /**
   * Stored leased to this worker: `processing` (its thread already runs), or
   * `pending` but held (handed over, waiting for the next free thread; no
   * other pod claims it while the lease lasts). Leased with
   * clock_timestamp(), not now(): now() is the start of a transaction that
   * may have been receiving files for a while.
   */
  private async insertLeased(img: IngestImage, status: 'processing' | 'pending', workerId: string, leaseSeconds: number): Promise<number> {
    const { rows } = await this.client.query<{ id: number }>({
      name: 'imgfleet-insert-leased',
      text: `INSERT INTO processed_images (batch_id, filename, content_type, original_width, original_height, decode_bytes,
                                     output_options, source_path, job_memory_bytes, job_cpu_ms, original_key, original_bytes,
                                     status, worker_id, attempts, lease_expires_at, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $15, $13, CASE WHEN $15 = 'processing' THEN 1 ELSE 0 END,
               clock_timestamp() + make_interval(secs => $14), CASE WHEN $15 = 'processing' THEN clock_timestamp() END)
       RETURNING id`,
      values: [...imageColumns(img), workerId, leaseSeconds, status],
    });
    return rows[0]!.id;
  }

  /** Commits everything, with the answer a retry with the same key will get. */
  async commit(answer?: { key: string } & StoredAnswer): Promise<void> {
    await this.stopBeating();
    try {
      if (answer) {
        await this.client.query('UPDATE upload_requests SET fingerprint = $2, status_code = $3, response = $4 WHERE key = $1', [
          answer.key,
          answer.fingerprint,
          answer.statusCode,
          answer.body,
        ]);
      }
      if (this.claimedIds.length && this.dispatcher) {
        // The leases were taken when each file arrived; count them from the commit.
        await this.client.query({
          name: 'imgfleet-refresh-leases',
          text: `UPDATE processed_images SET lease_expires_at = clock_timestamp() + make_interval(secs => $2)
            WHERE id = ANY($1::bigint[]) AND status IN ('pending', 'processing')`,
          values: [this.claimedIds, this.dispatcher.leaseSeconds],
        });
      }
      await this.client.query('COMMIT');
    } catch (err) {
      await this.rollback(err);
      throw err;
    }
    this.finish(true);
  }

  /** Undoes everything (safe to call after a failure, twice, or after commit: then it does nothing). */
  async rollback(cause?: unknown): Promise<void> {
    if (this.finished) return;
    await this.stopBeating();
    try {
      await this.client.query('ROLLBACK');
      this.finish(false);
    } catch (err) {
      // The connection is broken: PostgreSQL rolls back by itself.
      this.finish(false, cause ?? err);
    }
    // No row names them now; what cannot be removed here the orphan sweep will.
    for (const blob of this.staged.splice(0)) await this.blobs.discard(blob).catch(() => undefined);
  }

  private finish(committed: boolean, brokenBy?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.client.release(brokenBy === undefined ? undefined : brokenBy instanceof Error ? brokenBy : true);
    this.settle(committed);
  }
}

/** $1-$12 of both inserts: the image's own columns, in the order their column lists name them. */
function imageColumns(img: IngestImage): unknown[] {
  return [
    img.batchId,
    img.filename,
    img.contentType,
    img.width,
    img.height,
    img.decodeBytes,
    JSON.stringify(img.options),
    img.sourcePath,
    img.cost.memoryBytes,
    img.cost.cpuMs,
    img.original.key,
    img.original.size,
  ];
}
