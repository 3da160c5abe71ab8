/**
 * Feeds the worker pool: the composition of the thread ledger (how busy this
 * pod is), the claim loop (work from the table for free threads), the lease
 * keeper (renewals, and hand-backs on a drain) and the job runner (one job
 * through its phases, job.ts). On shutdown it stops claiming, finishes what
 * it can within the grace period and hands the rest back.
 *
 * Uploads hand their images over directly: one that arrives while a thread
 * is free runs at once, from the blob the upload just stored; one that
 * arrives while every thread is busy may still be taken by this pod, up to
 * a thread's worth, and runs on the next thread that frees up, before
 * anything is claimed from the table. Its row is stored leased to this pod
 * all the same, so a crash loses nothing (the lease expires and any pod
 * takes it); what it saves is the threads' idling while a long upload
 * request is still open (its rows are invisible to claims until it commits).
 */
import { randomBytes } from 'node:crypto';
import type { BlobStore } from '../blobs/blob-store.js';
import { parseOutputOptions } from '../contract/output-options.js';
import type { Logger } from '../logger.js';
import { MemoryAdmission } from '../workers/memory-admission.js';
import { ClaimLoop } from './claim-loop.js';
import type { DispatcherOptions, JobOutcome, LeaseStore, LocalRun, ResizeRunner } from './dispatcher-seams.js';
import { Job } from './job.js';
import { JobRunner } from './job-runner.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { ClaimedImage } from './repository.js';
import { ThreadLedger } from './thread-ledger.js';

export type { StoredRow } from './job.js';
export type { CompletedResult, DispatcherOptions, JobOutcome, LeaseStore, LocalRun, ResizeRunner } from './dispatcher-seams.js';

export class Dispatcher {
  /** Unique per process start, so a restarted pod with the same name never mistakes old leases for its own. */
  readonly workerId: string;
  private readonly jobs = new Map<Job, Promise<void>>();
  private readonly ledger: ThreadLedger;
  private readonly memory: MemoryAdmission;
  private readonly claims: ClaimLoop;
  private readonly leases: LeaseKeeper;
  private readonly runner: JobRunner;
  private draining = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private completedCount = 0;
  private readonly outcomeListeners: ((o: JobOutcome) => void)[] = [];

  constructor(
    store: LeaseStore,
    private readonly pool: ResizeRunner,
    blobs: BlobStore,
    private readonly options: DispatcherOptions,
    private readonly logger: Logger,
  ) {
    this.workerId = `${options.podName}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.ledger = new ThreadLedger({ threads: pool.size, handOffBytes: options.handOffBytes });
    const limitBytes = options.memoryLimitBytes;
    this.memory = new MemoryAdmission({ bytes: options.memoryBudgetBytes, source: 'JOB_MEMORY_MB', ...(limitBytes === undefined ? {} : { limitBytes }) });
    const { leaseSeconds, maxAttempts, defaults } = options;
    this.claims = new ClaimLoop(
      store,
      this.ledger,
      { workerId: this.workerId, leaseSeconds, maxAttempts, defaults },
      () => this.memory.waiting > 0,
      (image, leaseUntil) => this.takeClaimed(image, leaseUntil),
      logger,
    );
    this.leases = new LeaseKeeper(store, this.workerId, leaseSeconds, () => this.jobs.keys(), logger);
    this.runner = new JobRunner({
      store,
      pool,
      blobs,
      ledger: this.ledger,
      memory: this.memory,
      options,
      workerId: this.workerId,
      logger,
      stopped: () => this.stopped,
      record: (o) => this.record(o),
      kick: () => this.kick(),
    });
  }

  start(): void {
    this.pollTimer = setInterval(() => {
      this.claims.sweepSoon();
      this.kick();
    }, this.options.pollMs);
    this.leases.start();
    this.memory.start();
    this.kick();
  }

  onOutcome(listener: (o: JobOutcome) => void): void {
    this.outcomeListeners.push(listener);
  }

  /** Threads working on an image right now. */
  get busy(): number {
    return Math.min(this.ledger.busy, this.pool.size);
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
    return this.ledger.waitingForThread;
  }

  /** Something may be waiting: claim if there is room. Safe to call any time, any number of times. */
  kick(): void {
    if (!this.draining) this.claims.kick();
  }

  /**
   * The upload fast path: if a thread is free, reserve it for an image the
   * caller is about to store already leased to us, then `start` it from the
   * blob just stored; when every thread is busy, the image may still be
   * handed over to wait for the next free thread (`bytes`: what it holds in
   * memory, for the postgres store). Returns undefined when neither is
   * possible; otherwise the caller must end the reservation with `start`
   * (stored) or `cancel` (not stored).
   */
  reserveLocal(bytes = 0): LocalRun | undefined {
    if (this.draining) return undefined;
    const now = this.ledger.free() > 0;
    if (!now && !this.ledger.canHold(bytes)) return undefined;
    if (now) this.ledger.promise(1);
    else this.ledger.promisePlace(bytes);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      return true;
    };
    return {
      handedOver: !now,
      start: (original, cost, options, stored) => {
        if (!settle()) return;
        if (now) this.ledger.occupyPromised();
        // A handed-over job keeps its promised place (and `bytes`) until it waits for a thread.
        const job = new Job('upload', now ? 1 : 0, cost, options, original, { phase: now ? 'waiting-memory' : 'held' });
        job.heldBytes = now ? 0 : bytes;
        job.follow(stored, this.options.leaseSeconds);
        this.track(job);
      },
      cancel: () => {
        if (!settle()) return;
        if (now) this.ledger.unpromise(1);
        else this.ledger.unpromisePlace(bytes);
        this.kick();
      },
    };
  }

  /**
   * A claimed image's options are resolved and checked once, here: an earlier
   * row has none (the server's defaults), and a row stored by another
   * version or server may hold options this one refuses (its limits are
   * lower): that image fails with the reason instead of a worker guessing.
   */
  private takeClaimed(image: ClaimedImage, leaseUntil: number): void {
    const parsed = parseOutputOptions(image.options ?? this.options.defaults, this.options.optionsSchema);
    const options = parsed.ok ? parsed.options : this.options.defaults;
    const job = new Job('claimed', image.attempts, image.cost, options, { key: image.originalKey }, { phase: 'waiting-memory', id: image.id, leaseUntil });
    if (!parsed.ok) {
      const why = parsed.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      job.refusal = { code: 'INVALID_OPTIONS', error: `its stored output options are not valid on this server (${why})` };
    }
    this.track(job);
  }

  private track(job: Job): void {
    this.ledger.enter();
    const done = this.runner.run(job).finally(() => {
      this.jobs.delete(job);
      this.ledger.leave();
      this.kick();
    });
    this.jobs.set(job, done);
  }

  private record(outcome: JobOutcome): void {
    if (outcome.status === 'completed') this.completedCount++;
    for (const l of this.outcomeListeners) l(outcome);
  }

  /**
   * Graceful stop: claim nothing more, let in-flight images finish within
   * `graceMs`, then hand back whatever is left so other pods take it at once
   * instead of waiting for the lease to expire.
   */
  async drain(graceMs: number): Promise<{ finished: number; released: number }> {
    this.draining = true;
    this.claims.stop();
    clearInterval(this.pollTimer);
    const before = this.jobs.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.jobs.values()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    this.stopped = true;
    // Handed-over images still waiting never start: they are handed back below with the rest.
    this.ledger.stop();
    this.leases.stop();
    this.memory.stop();
    const unfinished = [...this.jobs.keys()].filter((j) => j.phase !== 'done').flatMap((j) => (j.id === undefined ? [] : [j.id]));
    const released = await this.leases.release(unfinished);
    return { finished: before - unfinished.length, released };
  }
}
