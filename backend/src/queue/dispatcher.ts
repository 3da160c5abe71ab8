/**
 * Feeds the worker pool from the queue table. It claims exactly as many
 * images as it has free threads (so with 4 threads and 5 uploads, 4 are
 * `processing` and 1 stays `pending` for whichever pod frees up first),
 * renews the leases of what it holds, and on shutdown stops claiming,
 * finishes what it can within the grace period and hands the rest back.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ResizeRules } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import type { ResizePool } from '../workers/pool.js';
import type { ImageRepository } from './repository.js';

export interface DispatcherOptions {
  podName: string;
  leaseSeconds: number;
  maxAttempts: number;
  pollMs: number;
  rules: ResizeRules;
}

/** What the pipeline reports about each finished image (metrics hook). */
export interface JobOutcome {
  id: number;
  status: 'completed' | 'failed';
  errorCode?: string;
  ms: number;
}

export class Dispatcher {
  /** Unique per process start, so a restarted pod with the same name never mistakes old leases for its own. */
  readonly workerId: string;
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Threads promised to uploads that are storing an image they will hand over directly. */
  private reserved = 0;
  private claiming = false;
  private claimAgain = false;
  private draining = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private completedCount = 0;
  private readonly outcomeListeners: ((o: JobOutcome) => void)[] = [];

  constructor(
    private readonly repo: ImageRepository,
    private readonly pool: ResizePool,
    private readonly options: DispatcherOptions,
    private readonly logger: Logger,
  ) {
    this.workerId = `${options.podName}/${process.pid}/${randomBytes(3).toString('hex')}`;
  }

  start(): void {
    this.pollTimer = setInterval(() => this.kick(), this.options.pollMs);
    // Renew well before expiry: a third of the lease leaves two chances to succeed.
    this.leaseTimer = setInterval(() => void this.renewLeases(), (this.options.leaseSeconds * 1000) / 3);
    this.kick();
  }

  onOutcome(listener: (o: JobOutcome) => void): void {
    this.outcomeListeners.push(listener);
  }

  get busy(): number {
    return this.inFlight.size;
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
        const free = this.pool.size - this.inFlight.size - this.reserved;
        if (free <= 0 || this.draining) break;
        // The threads being claimed for are spoken for while the claim is in
        // flight: an upload's reserveLocal() must not take one meanwhile.
        this.reserved += free;
        let claimed;
        try {
          await this.repo.failExhausted(this.options.maxAttempts);
          claimed = await this.repo.claim(this.workerId, free, this.options.leaseSeconds, this.options.maxAttempts);
        } finally {
          this.reserved -= free;
        }
        for (const job of claimed) this.track(job.id, this.process(job.id, job.attempts));
        // A full claim may leave more waiting: the next finished image kicks again.
      } while (this.claimAgain);
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'claiming images failed; will retry');
    } finally {
      this.claiming = false;
    }
  }

  /**
   * The upload fast path: if a thread is free, reserve it for an image the
   * caller is about to store already leased to us (`repo.insertClaimed`),
   * then `run` it from the bytes in hand. Saves reading 3–5 MB back out of
   * Postgres, which on a 2-core machine costs as much CPU as a third of the
   * resize. Returns undefined when no thread is free; otherwise the caller
   * must end the reservation with `run` (stored) or `cancel` (not stored).
   */
  reserveLocal(): { run(id: number, bytes: Buffer): void; cancel(): void } | undefined {
    if (this.draining || this.inFlight.size + this.reserved >= this.pool.size) return undefined;
    this.reserved++;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.reserved--;
      return true;
    };
    return {
      run: (id, bytes) => {
        if (!settle()) return;
        this.track(id, this.process(id, 1, bytes));
      },
      cancel: () => {
        if (settle()) this.kick();
      },
    };
  }

  private track(id: number, run: Promise<void>): void {
    this.inFlight.set(
      id,
      run.finally(() => {
        this.inFlight.delete(id);
        this.kick();
      }),
    );
  }

  private async process(id: number, attempt: number, inHand?: Buffer): Promise<void> {
    const started = performance.now();
    try {
      const bytes = inHand ?? (await this.repo.originalData(id));
      if (!bytes) {
        await this.repo.fail(id, this.workerId, 'the original image data is missing', 'NO_DATA', 0);
        return;
      }
      const result = await this.pool.resize(bytes, this.options.rules);
      const ms = performance.now() - started;
      if (result.ok) {
        const stored = await this.repo.complete(id, this.workerId, {
          data: Buffer.from(result.data),
          width: result.width,
          height: result.height,
          processingMs: ms,
        });
        if (stored) this.record({ id, status: 'completed', ms });
        else this.logger.warn({ id }, 'lease lost before completion; result discarded (another worker owns it)');
      } else {
        const stored = await this.repo.fail(id, this.workerId, result.error, result.code, ms);
        if (stored) this.record({ id, status: 'failed', errorCode: result.code, ms });
      }
      this.logger.debug({ id, attempt, ms: Math.round(ms), ok: result.ok }, 'image processed');
    } catch (err) {
      // Database trouble: leave the lease to expire so another worker (or we) retry.
      this.logger.error({ id, err: err instanceof Error ? err.stack : String(err) }, 'processing an image failed unexpectedly; its lease will expire');
    }
  }

  private record(outcome: JobOutcome): void {
    if (outcome.status === 'completed') this.completedCount++;
    for (const l of this.outcomeListeners) l(outcome);
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (ids.length === 0) return;
    try {
      const lost = await this.repo.renewLeases(this.workerId, ids, this.options.leaseSeconds);
      if (lost.length) this.logger.warn({ lost }, 'leases lost (another worker took these images over)');
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'renewing leases failed; will retry');
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
    const pending = [...this.inFlight.values()];
    const before = this.inFlight.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    const unfinished = [...this.inFlight.keys()];
    const released = unfinished.length ? await this.repo.release(this.workerId, unfinished) : 0;
    return { finished: before - unfinished.length, released };
  }
}
