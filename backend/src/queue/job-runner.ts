/**
 * Runs one job through its phases (job.ts): a thread, its memory, the
 * resize, then its outcome written while its lease holds.
 *
 * Database and blob-store trouble never costs an image: reads and writes are
 * retried while this worker still holds the lease (a PostgreSQL restart, a
 * full disk or volume), and only a lease really lost is left to the next
 * owner. A result that cannot be stored yet stays in memory and is retried,
 * as the database's outcome writes are.
 */
import { performance } from 'node:perf_hooks';
import { BlobStoreError, isBlobStoreError, type BlobStore, type StagedBlob } from '../blobs/blob-store.js';
import { classifyDatabaseError, isTransientDatabaseError } from '../db/errors.js';
import type { Logger } from '../logger.js';
import { tooMuchMemoryMessage } from '../imaging/job-cost.js';
import { retryTransient } from '../util/retry.js';
import type { MemoryAdmission } from '../workers/memory-admission.js';
import type { ResizeTaskResult } from '../workers/resize-task.js';
import { describeLimit, timeLimitMs } from '../workers/time-limit.js';
import type { DispatcherOptions, JobOutcome, LeaseStore, ResizeRunner } from './dispatcher-seams.js';
import type { Job } from './job.js';
import type { ThreadLedger } from './thread-ledger.js';

const MiB = 1024 * 1024;

/** Worth another try while the lease holds: a database or a blob store that is down, restarting or full. */
function isTransient(err: unknown): boolean {
  return isTransientDatabaseError(err) || isBlobStoreError(err, 'full') || isBlobStoreError(err, 'unavailable');
}

/**
 * A worker that reads and writes the store itself (filesystem, S3) reports
 * the store's passing faults as its outcome; thrown here, they are retried
 * as the event loop's own store calls are, instead of failing the image
 * for a gateway that was restarting or a volume that was full.
 */
function throwPassingStoreFault(result: ResizeTaskResult): ResizeTaskResult {
  if (!result.ok && (result.code === 'STORAGE_UNAVAILABLE' || result.code === 'STORAGE_FULL')) {
    throw new BlobStoreError(result.code === 'STORAGE_FULL' ? 'full' : 'unavailable', result.error);
  }
  return result;
}

export interface RunnerDeps {
  store: LeaseStore;
  pool: ResizeRunner;
  blobs: BlobStore;
  ledger: ThreadLedger;
  memory: MemoryAdmission;
  options: DispatcherOptions;
  workerId: string;
  logger: Logger;
  /** True once the pod stopped: nothing is retried any more. */
  stopped: () => boolean;
  record: (outcome: JobOutcome) => void;
  /** Something may be waiting (a timed-out image went back to the table). */
  kick: () => void;
}

export class JobRunner {
  constructor(private readonly d: RunnerDeps) {}

  async run(job: Job): Promise<void> {
    const handedOver = job.phase === 'held';
    if (handedOver && !(await this.takeThread(job))) return;
    // A handed-over image is `processing` from the moment its thread takes it; the status is written while it resizes.
    const marked = handedOver ? this.markStarted(job) : undefined;
    const started = performance.now();
    let threadHeld = true;
    const releaseThread = () => {
      if (threadHeld) {
        threadHeld = false;
        this.d.ledger.vacate();
      }
    };
    try {
      const result = await this.resize(job);
      releaseThread();
      job.moveTo('recording');
      await this.record(job, result, performance.now() - started, marked);
    } catch (err) {
      // Still failing once the lease is gone: leave it to the lease's expiry, so another worker (or we) retry.
      this.d.logger.error({ id: job.id, err }, 'processing an image failed; its lease will expire and it will be retried');
    } finally {
      releaseThread();
      if (job.phase !== 'done') job.moveTo('done');
    }
  }

  /** A handed-over image waits for this pod's next free thread: false when it never gets one (a drain, or its upload rolled back). */
  private async takeThread(job: Job): Promise<boolean> {
    const granted = await this.d.ledger.waitForThread(job, job.heldBytes);
    job.moveTo(granted ? 'waiting-memory' : 'done');
    return granted;
  }

  /** Once its upload committed (its row is invisible before), a handed-over image is marked started. Never left rejected. */
  private markStarted(job: Job): Promise<boolean> {
    const write = async () => {
      const id = await job.committedId();
      if (id === undefined) return false;
      return this.withRetries(job, 'marking a handed-over image started', () => this.d.store.startHeld(id, this.d.workerId, this.d.options.leaseSeconds));
    };
    return write().catch((err: unknown) => {
      this.d.logger.warn({ id: job.id, err }, 'marking a handed-over image started failed; its hold will expire and it will be retried');
      return false;
    });
  }

  private async resize(job: Job): Promise<ResizeTaskResult> {
    if (job.refusal) return { ok: false, ...job.refusal, workMs: 0 };
    const { memoryBytes, cpuMs } = job.cost;
    if (memoryBytes > this.d.memory.capacity) return tooMuchMemory(memoryBytes, this.d.memory.capacity);
    const release = await this.d.memory.acquire(memoryBytes);
    job.moveTo('running');
    // A stopped thread's libvips may still hold the job's memory: its share of the budget stays taken until the thread is gone.
    let stillHeld: Promise<void> | undefined;
    try {
      const input = await this.inputOf(job);
      if ('code' in input) return input;
      const limitMs = timeLimitMs(cpuMs, this.d.options.timeLimit);
      const access = this.d.blobs.workerAccess();
      const resize = () =>
        this.d.pool.resize(input, this.d.options.rules, {
          options: job.options,
          ...(access.kind === 'bytes' ? {} : { sink: access }),
          timeLimitMs: limitMs,
          limitNote: describeLimit(limitMs, this.d.options.timeLimit.baseMs),
          onAbandoned: (exited) => {
            stillHeld = exited;
          },
        });
      // Bytes in hand were transferred to the thread (a second run has none); a blob is read again.
      if (input instanceof Uint8Array) return await resize();
      return await this.withRetries(job, 'processing from the blob store', async () => throwPassingStoreFault(await resize()));
    } finally {
      if (stillHeld) void stillHeld.then(release);
      else release();
    }
  }

  /** What the worker reads: the blob itself where it can reach the store, else the bytes (in hand, or read from the row). */
  private async inputOf(job: Job): Promise<Parameters<ResizeRunner['resize']>[0] | (ResizeTaskResult & { ok: false })> {
    const { key, data } = job.original;
    job.original = { key };
    if (data) return data;
    const access = this.d.blobs.workerAccess();
    const ref = { imageId: job.id ?? 0, kind: 'original' as const, key };
    if (key !== null && access.kind !== 'bytes') return { access, ref };
    try {
      return await this.withRetries(job, 'reading the original', () => this.d.blobs.read(ref));
    } catch (err) {
      if (isBlobStoreError(err, 'not-found')) return { ok: false, code: 'ORIGINAL_MISSING', error: `${err.message}: upload it again`, workMs: 0 };
      throw err;
    }
  }

  private async record(job: Job, result: ResizeTaskResult, ms: number, marked: Promise<boolean> | undefined): Promise<void> {
    const id = await job.committedId();
    const staged = result.ok ? await this.stageResult(job, result) : undefined;
    // Its upload rolled back (or its insert failed): there is no row to write to.
    if (id === undefined || (marked && !(await marked))) {
      if (staged) await this.d.blobs.discard(staged).catch(() => undefined);
      if (id !== undefined) this.d.logger.warn({ id }, 'hold lost before the image started; result discarded (another worker owns it)');
      return;
    }
    if (result.ok) await this.complete(job, id, staged!, result, ms);
    else if (result.code === 'TIMEOUT') await this.retryLater(job, id, result);
    else await this.fail(job, id, result, ms);
    this.d.logger.debug({ id, attempt: job.attempt, ms: Math.round(ms), ok: result.ok }, 'image processed');
  }

  /** The result in the store: the worker put it there itself, or it came back as bytes (the postgres store, or a store that was full). */
  private async stageResult(job: Job, result: ResizeTaskResult & { ok: true }): Promise<StagedBlob> {
    if (result.blob) return { kind: 'result', key: result.blob.key, size: result.blob.size };
    const data = Buffer.from(result.data!);
    return this.withRetries(job, 'storing the result', () => this.d.blobs.put('result', data));
  }

  private async complete(job: Job, id: number, blob: StagedBlob, result: ResizeTaskResult & { ok: true }, ms: number): Promise<void> {
    this.d.options.observeWork?.(job.cost.cpuMs, result.workMs);
    const done = await this.withRetries(job, 'storing the result', () =>
      this.d.store.complete(id, this.d.workerId, { blob, width: result.width, height: result.height, processingMs: ms, quality: result.quality }),
    );
    if (done) {
      this.d.record({ id, status: 'completed', ms });
      return;
    }
    this.d.logger.warn({ id }, 'lease lost before completion; result discarded (another worker owns it)');
    await this.d.blobs.discard(blob).catch(() => undefined);
  }

  private async retryLater(job: Job, id: number, result: ResizeTaskResult & { ok: false }): Promise<void> {
    const error = `${result.error} (attempt ${job.attempt} of ${this.d.options.maxAttempts})`;
    const outcome = await this.withRetries(job, 'handing back a timed-out image', () =>
      this.d.store.retryLater(id, this.d.workerId, error, result.code, this.d.options.maxAttempts),
    );
    if (outcome === 'failed') this.d.record({ id, status: 'failed', errorCode: result.code, ms: result.workMs });
    if (outcome === 'pending') this.d.kick();
  }

  private async fail(job: Job, id: number, result: ResizeTaskResult & { ok: false }, ms: number): Promise<void> {
    const stored = await this.withRetries(job, 'storing the failure', () => this.d.store.fail(id, this.d.workerId, result.error, result.code, ms));
    if (stored) this.d.record({ id, status: 'failed', errorCode: result.code, ms });
  }

  /** Runs `op`, retrying passing failures while our lease holds. */
  private withRetries<T>(job: Job, what: string, op: () => Promise<T>): Promise<T> {
    return retryTransient(op, {
      isTransient,
      // An upload's image not yet committed has no lease to lose: its row is ours until the commit.
      keepTrying: () => !this.d.stopped() && (job.lease === 'uncommitted' || Date.now() < job.leaseUntil - 500),
      onRetry: (err, attempt) => {
        if (attempt === 1 || attempt % 10 === 0) {
          this.d.logger.warn({ id: job.id, err, fault: classifyDatabaseError(err), attempt }, `${what} failed; retrying`);
        }
      },
    });
  }
}

function tooMuchMemory(needed: number, budget: number): ResizeTaskResult {
  return {
    ok: false,
    code: 'TOO_MUCH_MEMORY',
    error: tooMuchMemoryMessage('this image', `${Math.ceil(needed / MiB)} MiB of memory`, budget),
    workMs: 0,
  };
}
