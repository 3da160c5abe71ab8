/**
 * Feeds the worker pool from the queue table. It claims exactly as many
 * images as it has free threads (so with 4 threads and 5 uploads, 4 are
 * `processing` and 1 stays `pending` for whichever pod frees up first),
 * renews the leases of what it holds, and on shutdown stops claiming,
 * finishes what it can within the grace period and hands the rest back.
 *
 * Database trouble never costs an image: reads and result writes are
 * retried while this worker still holds the lease (a PostgreSQL restart, a
 * full disk), and only a lease really lost is left to the next owner.
 *
 * Uploads hand their images over in memory: one that arrives while every
 * thread is busy is still taken by this pod, up to a thread's worth of
 * waiting images and `handOffBytes` of their bytes, and runs on the next
 * thread that frees up, before anything is claimed from the table. Its row is
 * stored leased to this pod all the same, so a crash loses nothing (the lease
 * expires and any pod takes it); what it saves is reading the original back
 * out of PostgreSQL, and, inside a long upload request, the threads' idling
 * until the request commits (its rows are invisible to claims until then).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { OutputOptions } from '../contract/output-options.js';
import { classifyDatabaseError, isTransientDatabaseError } from '../db/errors.js';
import type { ResizeRules } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import { retryTransient } from '../util/retry.js';
import { WeightedSemaphore } from '../util/semaphore.js';
import type { ResizeTaskResult } from '../workers/resize-task.js';
import type { ClaimedImage } from './repository.js';

export interface DispatcherOptions {
  podName: string;
  leaseSeconds: number;
  maxAttempts: number;
  pollMs: number;
  rules: ResizeRules;
  /** Decode memory all threads may use at once, bytes. */
  decodeBudgetBytes: number;
  /** Longest an image may take in a thread before the thread is recycled, ms. */
  imageTimeoutMs: number;
  /** Bytes of uploaded originals that may wait in memory for a thread of this pod (0: none wait). */
  handOffBytes: number;
}

/** What the dispatcher needs of the queue table (a fake in unit tests). */
export interface LeaseStore {
  failExhausted(maxAttempts: number): Promise<number>;
  claim(workerId: string, limit: number, leaseSeconds: number, maxAttempts: number): Promise<ClaimedImage[]>;
  originalData(id: number): Promise<Buffer | null>;
  /** A held (handed-over) image starts: false when the hold was lost. */
  startHeld(id: number, workerId: string, leaseSeconds: number): Promise<boolean>;
  renewLeases(workerId: string, ids: number[], leaseSeconds: number): Promise<{ renewed: number[]; lost: number[] }>;
  complete(id: number, workerId: string, result: { data: Buffer; width: number; height: number; processingMs: number; quality?: number }): Promise<boolean>;
  fail(id: number, workerId: string, error: string, errorCode: string, processingMs: number): Promise<boolean>;
  /** Back to pending with the attempt counted, or failed for good once `maxAttempts` are used. */
  retryLater(id: number, workerId: string, error: string, errorCode: string, maxAttempts: number): Promise<'pending' | 'failed' | 'lost'>;
  release(workerId: string, ids: number[]): Promise<number>;
}

/** What the dispatcher needs of the worker pool (a fake in unit tests). */
export interface ResizeRunner {
  readonly size: number;
  resize(
    bytes: Uint8Array,
    rules: ResizeRules,
    run: { timeLimitMs?: number; decodeBytes?: number; options?: OutputOptions; onAbandoned?: (exited: Promise<void>) => void },
  ): Promise<ResizeTaskResult>;
}

/** What the pipeline reports about each finished image (metrics hook). */
export interface JobOutcome {
  id: number;
  status: 'completed' | 'failed';
  errorCode?: string;
  ms: number;
}

/** A thread promised to an upload, now or as the next to free up; see `reserveLocal`. */
export interface LocalRun {
  /**
   * False: a thread is free and the image is `processing` at once. True:
   * handed over to wait for the next free thread; it is stored `pending`
   * but held by this worker (leased to it), and becomes `processing` when
   * its thread starts.
   */
  readonly handedOver: boolean;
  /**
   * Resize `bytes` now (they are transferred to the thread), while the
   * upload stores its own copy; the result is written once `stored` tells
   * the row's id and its transaction committed, and dropped otherwise.
   */
  start(bytes: Buffer, decodeBytes: number, options: OutputOptions, stored: Promise<StoredRow | undefined>): void;
  cancel(): void;
}

/** Where a locally resized image's row is, once its insert returned. */
export interface StoredRow {
  id: number;
  /** True once the upload's transaction committed, false if it rolled back. */
  committed: Promise<boolean>;
}

interface Job {
  /** Unknown (NaN) until a local upload's insert returned. */
  id: number;
  attempt: number;
  decodeBytes: number;
  /** Null: an earlier row, made with the server's rules. */
  options: OutputOptions | null;
  inHand?: Buffer;
  /** Handed over while every thread was busy: waits for the next free one. */
  handOff?: { bytes: number };
  /** Its upload rolled back (or its insert failed): nothing to resize, if it has not started yet. */
  abandoned?: boolean;
  stored?: Promise<StoredRow | undefined>;
  /** Until when (ms epoch) our lease is known to hold. */
  leaseUntil: number;
}


export class Dispatcher {
  /** Unique per process start, so a restarted pod with the same name never mistakes old leases for its own. */
  readonly workerId: string;
  private readonly jobs = new Set<{ job: Job; done: Promise<void> }>();
  /** Threads running a resize, or promised to a claim in flight or an upload. */
  private threadsInUse = 0;
  private reserved = 0;
  /** Handed-over images waiting for a thread, first come first served. */
  private readonly handOffQueue: { job: Job; grant: (granted: boolean) => void }[] = [];
  /** Handed-over images promised or waiting, and their bytes (bounded by canHandOff). */
  private handOffPlaces = 0;
  private handOffHeld = 0;
  private claiming = false;
  private claimAgain = false;
  /** Images whose workers kept dying are failed on the poll's beat, not before every claim. */
  private sweepDue = true;
  private draining = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private completedCount = 0;
  private readonly outcomeListeners: ((o: JobOutcome) => void)[] = [];
  private readonly decodeBudget: WeightedSemaphore;

  constructor(
    private readonly store: LeaseStore,
    private readonly pool: ResizeRunner,
    private readonly options: DispatcherOptions,
    private readonly logger: Logger,
  ) {
    this.workerId = `${options.podName}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.decodeBudget = new WeightedSemaphore(options.decodeBudgetBytes);
  }

  start(): void {
    this.pollTimer = setInterval(() => {
      this.sweepDue = true;
      this.kick();
    }, this.options.pollMs);
    // Renew well before expiry: a third of the lease leaves two chances to succeed.
    this.leaseTimer = setInterval(() => void this.renewLeases(), (this.options.leaseSeconds * 1000) / 3);
    this.kick();
  }

  onOutcome(listener: (o: JobOutcome) => void): void {
    this.outcomeListeners.push(listener);
  }

  /** Images this process holds (resizing, or writing their outcome). */
  get busy(): number {
    return Math.min(this.jobs.size, this.pool.size);
  }

  get leaseSeconds(): number {
    return this.options.leaseSeconds;
  }

  get threads(): number {
    return this.pool.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Images this process has completed since it started. */
  get processedCount(): number {
    return this.completedCount;
  }

  /** Images handed over by uploads that wait for a thread of this pod. */
  get waitingForThread(): number {
    return this.handOffPlaces;
  }

  /**
   * Threads neither busy nor promised (handed-over images waiting count as
   * promised). Writes waiting on the database are capped so one pod cannot
   * hoard leases.
   */
  private freeThreads(): number {
    const byThreads = this.pool.size - this.threadsInUse - this.reserved - this.handOffPlaces;
    return Math.min(byThreads, this.roomToHold());
  }

  /** Images this pod may still take on (running, waiting for a thread or writing): at most two per thread. */
  private roomToHold(): number {
    return 2 * this.pool.size - this.jobs.size - this.reserved;
  }

  /** Something may be waiting: claim if there is room. Safe to call any time, any number of times. */
  kick(): void {
    if (this.draining) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    void this.claimLoop();
  }

  private async claimLoop(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.claimAgain = false;
        const free = this.freeThreads();
        if (free <= 0 || this.draining) break;
        // The threads being claimed for are spoken for while the claim is in
        // flight: an upload's reserveLocal() must not take one meanwhile.
        this.reserved += free;
        let claimed: ClaimedImage[];
        try {
          if (this.sweepDue) {
            this.sweepDue = false;
            await this.store.failExhausted(this.options.maxAttempts);
          }
          claimed = await this.store.claim(this.workerId, free, this.options.leaseSeconds, this.options.maxAttempts);
        } finally {
          this.reserved -= free;
        }
        const leaseUntil = Date.now() + this.options.leaseSeconds * 1000;
        for (const c of claimed) {
          this.threadsInUse++;
          this.track({ id: c.id, attempt: c.attempts, decodeBytes: c.decodeBytes ?? 0, options: c.options, leaseUntil });
        }
        // A full claim may leave more waiting: the next finished image kicks again.
      } while (this.claimAgain);
    } catch (err) {
      this.logger.warn({ err }, 'claiming images failed; will retry');
    } finally {
      this.claiming = false;
    }
  }

  /**
   * The upload fast path: if a thread is free, reserve it for an image the
   * caller is about to store already leased to us, then `start` it from the
   * bytes in hand. Saves reading 3–5 MB back out of Postgres, which on a
   * 2-core machine costs as much CPU as a third of the resize. When every
   * thread is busy, the image (of `bytes` bytes) may still be handed over to
   * wait for the next free thread, within the hand-off's bounds. Returns
   * undefined when neither is possible; otherwise the caller must end the
   * reservation with `start` (stored) or `cancel` (not stored).
   */
  reserveLocal(bytes = 0): LocalRun | undefined {
    if (this.draining) return undefined;
    const now = this.freeThreads() > 0;
    if (!now && !this.canHandOff(bytes)) return undefined;
    // What is promised until `start` or `cancel`: a thread, or a place (and bytes) among those waiting for one.
    if (now) this.reserved++;
    else this.handOffReserve(1, bytes);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      if (now) this.reserved--;
      else this.handOffReserve(-1, -bytes);
      return true;
    };
    return {
      handedOver: !now,
      start: (data, decodeBytes, options, stored) => {
        if (!settle()) return;
        const job: Job = { id: Number.NaN, attempt: 1, decodeBytes, options, inHand: data, stored, leaseUntil: Number.POSITIVE_INFINITY };
        if (now) this.threadsInUse++;
        else job.handOff = { bytes: data.length };
        // Known as soon as the insert returns (a drain must be able to hand it back); leased from the commit on.
        void stored.then((row) => {
          if (!row) {
            job.abandoned = true;
            return;
          }
          job.id = row.id;
          void row.committed.then((ok) => {
            if (ok) job.leaseUntil = Date.now() + this.options.leaseSeconds * 1000;
            else job.abandoned = true;
          });
        });
        this.track(job);
      },
      cancel: () => {
        if (settle()) this.kick();
      },
    };
  }

  private handOffReserve(places: number, bytes: number): void {
    this.handOffPlaces += places;
    this.handOffHeld += bytes;
  }

  /** Room for one more image to wait for a thread: a thread's worth of them at most, within the byte budget. */
  private canHandOff(bytes: number): boolean {
    return (
      this.options.handOffBytes > 0 &&
      this.handOffPlaces < this.pool.size &&
      this.roomToHold() > 0 &&
      this.handOffHeld + bytes <= this.options.handOffBytes
    );
  }

  /**
   * Gets a thread for a handed-over image: at once if one is free and nobody
   * waits, else the next one freed (threadFreed passes it on as is). False
   * once stopped: a drain hands the image back instead.
   */
  private async waitForThread(job: Job, handOff: { bytes: number }): Promise<boolean> {
    this.handOffReserve(1, handOff.bytes);
    let granted = true;
    if (this.threadsInUse < this.pool.size && this.handOffQueue.length === 0) this.threadsInUse++;
    else granted = await new Promise<boolean>((grant) => this.handOffQueue.push({ job, grant }));
    this.handOffReserve(-1, -handOff.bytes);
    return granted;
  }

  /**
   * A thread came free: the longest-waiting handed-over image gets it (those
   * whose upload rolled back meanwhile are dropped unstarted), else look for work.
   */
  private threadFreed(): void {
    while (!this.stopped) {
      const next = this.handOffQueue.shift();
      if (!next) break;
      if (next.job.abandoned) {
        next.grant(false);
        continue;
      }
      next.grant(true);
      return;
    }
    this.threadsInUse--;
    this.kick();
  }

  private track(job: Job): void {
    const entry = { job, done: Promise.resolve() };
    entry.done = this.process(job).finally(() => {
      this.jobs.delete(entry);
      this.kick();
    });
    this.jobs.add(entry);
  }

  /** Runs `op` against the database, retrying passing failures while our lease holds. */
  private withRetries<T>(job: Job, what: string, op: () => Promise<T>): Promise<T> {
    return retryTransient(op, {
      isTransient: isTransientDatabaseError,
      keepTrying: () => !this.stopped && Date.now() < job.leaseUntil - 500,
      onRetry: (err, attempt) => {
        if (attempt === 1 || attempt % 10 === 0) {
          this.logger.warn({ id: job.id, err, fault: classifyDatabaseError(err), attempt }, `${what} failed; retrying`);
        }
      },
    });
  }

  private async process(job: Job): Promise<void> {
    if (job.handOff && !(await this.waitForThread(job, job.handOff))) return;
    // A handed-over image is `processing` from now on; the status is written while it resizes.
    // Never left rejected: the resize may fail before anything awaits it.
    const marked = job.handOff
      ? this.markStarted(job).catch((err: unknown) => {
          this.logger.warn({ id: job.id, err }, 'marking a handed-over image started failed; its hold will expire and it will be retried');
          return false;
        })
      : undefined;
    const started = performance.now();
    let threadHeld = true;
    const releaseThread = () => {
      if (!threadHeld) return;
      threadHeld = false;
      this.threadFreed();
    };
    try {
      const bytes = job.inHand ?? (await this.withRetries(job, 'reading the original', () => this.store.originalData(job.id)));
      job.inHand = undefined;
      const result = bytes ? await this.resizeWithinBudget(job, bytes) : missingOriginal();
      releaseThread();
      if (job.stored) {
        const row = await job.stored;
        if (!row) return; // its insert failed: there is no row to write to
        if (!(await row.committed)) return; // the upload rolled back
      }
      if (marked && !(await marked)) {
        this.logger.warn({ id: job.id }, 'hold lost before the image started; result discarded (another worker owns it)');
        return;
      }
      await this.recordResult(job, result, performance.now() - started);
    } catch (err) {
      // Still failing once the lease is gone: leave it to the lease's expiry, so another worker (or we) retry.
      this.logger.error({ id: job.id, err }, 'processing an image failed; its lease will expire and it will be retried');
    } finally {
      releaseThread();
    }
  }

  /** Once its upload committed (its row is invisible before), a handed-over image is marked started. */
  private async markStarted(job: Job): Promise<boolean> {
    const row = await job.stored;
    if (!row || !(await row.committed)) return false;
    return this.withRetries(job, 'marking a handed-over image started', () => this.store.startHeld(row.id, this.workerId, this.options.leaseSeconds));
  }

  private async resizeWithinBudget(job: Job, bytes: Buffer): Promise<ResizeTaskResult> {
    if (job.decodeBytes > this.decodeBudget.capacity) return tooMuchMemory(job.decodeBytes, this.decodeBudget.capacity);
    const release = await this.decodeBudget.acquire(job.decodeBytes);
    // A stopped thread's libvips may still hold the decode's memory: its share of the budget stays taken until the thread is gone.
    let stillHeld: Promise<void> | undefined;
    try {
      return await this.pool.resize(bytes, this.options.rules, {
        timeLimitMs: this.options.imageTimeoutMs,
        decodeBytes: job.decodeBytes,
        ...(job.options ? { options: job.options } : {}),
        onAbandoned: (exited) => {
          stillHeld = exited;
        },
      });
    } finally {
      if (stillHeld) void stillHeld.then(release);
      else release();
    }
  }

  private async recordResult(job: Job, result: ResizeTaskResult, ms: number): Promise<void> {
    const { id } = job;
    if (result.ok) {
      const data = Buffer.from(result.data);
      const stored = await this.withRetries(job, 'storing the result', () =>
        this.store.complete(id, this.workerId, { data, width: result.width, height: result.height, processingMs: ms, quality: result.quality }),
      );
      if (stored) this.record({ id, status: 'completed', ms });
      else this.logger.warn({ id }, 'lease lost before completion; result discarded (another worker owns it)');
    } else if (result.code === 'TIMEOUT') {
      const error = `${result.error} (attempt ${job.attempt} of ${this.options.maxAttempts})`;
      const outcome = await this.withRetries(job, 'handing back a timed-out image', () =>
        this.store.retryLater(id, this.workerId, error, result.code, this.options.maxAttempts),
      );
      if (outcome === 'failed') this.record({ id, status: 'failed', errorCode: result.code, ms });
      if (outcome === 'pending') this.kick();
    } else {
      const stored = await this.withRetries(job, 'storing the failure', () => this.store.fail(id, this.workerId, result.error, result.code, ms));
      if (stored) this.record({ id, status: 'failed', errorCode: result.code, ms });
    }
    this.logger.debug({ id, attempt: job.attempt, ms: Math.round(ms), ok: result.ok }, 'image processed');
  }

  private record(outcome: JobOutcome): void {
    if (outcome.status === 'completed') this.completedCount++;
    for (const l of this.outcomeListeners) l(outcome);
  }

  private async renewLeases(): Promise<void> {
    // Uploads not yet committed have no row another session can see; their leases start at commit.
    const held = [...this.jobs].map((j) => j.job).filter((j) => Number.isFinite(j.leaseUntil));
    if (held.length === 0) return;
    const askedAt = Date.now();
    try {
      const { renewed, lost } = await this.store.renewLeases(this.workerId, held.map((j) => j.id), this.options.leaseSeconds);
      const ok = new Set(renewed);
      for (const j of held) if (ok.has(j.id)) j.leaseUntil = askedAt + this.options.leaseSeconds * 1000;
      if (lost.length) this.logger.warn({ lost }, 'leases lost (another worker took these images over)');
    } catch (err) {
      this.logger.warn({ err }, 'renewing leases failed; will retry');
    }
  }

  /**
   * Graceful stop: claim nothing more, let in-flight images finish within
   * `graceMs`, then hand back whatever is left so other pods take it at once
   * instead of waiting for the lease to expire.
   */
  async drain(graceMs: number): Promise<{ finished: number; released: number }> {
    this.draining = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const pending = [...this.jobs].map((j) => j.done);
    const before = this.jobs.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    this.stopped = true;
    // Handed-over images still waiting never start: they are handed back below with the rest.
    for (const waiting of this.handOffQueue.splice(0)) waiting.grant(false);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    const unfinished = [...this.jobs].map((j) => j.job.id).filter((id) => Number.isFinite(id));
    let released = 0;
    if (unfinished.length) {
      released = await this.store.release(this.workerId, unfinished).catch((err: unknown) => {
        this.logger.warn({ err, unfinished }, 'handing back unfinished images failed; their leases will expire');
        return 0;
      });
    }
    return { finished: before - unfinished.length, released };
  }
}

function missingOriginal(): ResizeTaskResult {
  return { ok: false, code: 'NO_DATA', error: 'the original image data is missing', workMs: 0 };
}

const MiB = 1024 * 1024;

function tooMuchMemory(needed: number, budget: number): ResizeTaskResult {
  return {
    ok: false,
    code: 'TOO_MUCH_MEMORY',
    error: `decoding this image needs ${Math.ceil(needed / MiB)} MiB of memory, more than this server's budget of ${Math.floor(budget / MiB)} MiB (DECODE_MEMORY_MB)`,
    workMs: 0,
  };
}
