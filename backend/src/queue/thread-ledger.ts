/**
 * The one answer to "how busy is this pod": its worker threads and what is
 * promised of them. Everything that takes a thread goes through it (claims
 * from the table, uploads' images, handed-over images waiting for a thread),
 * so no image is ever given a thread another already holds, and the pool
 * never has more tasks than threads.
 *
 *   running    threads with a job (waiting for its memory, or resizing)
 *   promised   threads promised to a claim in flight or to an upload about to store its image
 *   places     promised waits: an upload's image will wait for the next free thread
 *   waiting    handed-over images waiting for a thread, first come first served
 *   inHand     jobs this pod holds in any phase, writing their outcome included:
 *              at most two per thread, so a stalled database cannot make it hoard leases
 */
import type { Job } from './job.js';

interface Waiter {
  job: Job;
  bytes: number;
  grant: (granted: boolean) => void;
}

export interface LedgerLimits {
  threads: number;
  /** Bytes of originals that may wait in memory for a thread (the postgres store's uploads); 0: no image waits. */
  handOffBytes: number;
}

export class ThreadLedger {
  private running = 0;
  private promised = 0;
  private places = 0;
  private placeBytes = 0;
  private readonly waiting: Waiter[] = [];
  private inHand = 0;
  private stopped = false;

  constructor(private readonly limits: LedgerLimits) {}

  get threads(): number {
    return this.limits.threads;
  }

  /** Threads with a job. */
  get busy(): number {
    return this.running;
  }

  /** Handed-over images promised a wait or waiting. */
  get waitingForThread(): number {
    return this.places + this.waiting.length;
  }

  /** Jobs this pod may still take on (at most two per thread in any phase). */
  private room(): number {
    return 2 * this.limits.threads - this.inHand - this.promised;
  }

  /** Threads neither running, nor promised, nor owed to an image waiting for one. */
  free(): number {
    const byThreads = this.limits.threads - this.running - this.promised - this.places - this.waiting.length;
    return Math.max(0, Math.min(byThreads, this.room()));
  }

  /** Promise `n` threads (a claim about to run, an upload about to store its image). */
  promise(n: number): void {
    this.promised += n;
  }

  /** Take back promises that were not used (a claim found less, an upload failed); freed threads go to waiting images. */
  unpromise(n: number): void {
    this.promised -= n;
    this.passFreeThreads();
  }

  /** A promised thread starts its job. */
  occupyPromised(): void {
    this.promised--;
    this.running++;
  }

  /**
   * Room for one more image to wait for a thread: a thread's worth at most,
   * and its bytes in memory (the postgres store's) within the hand-off's
   * budget. A budget of 0 turns the hand-off off.
   */
  canHold(bytes: number): boolean {
    if (this.stopped || this.limits.handOffBytes <= 0 || this.waitingForThread >= this.limits.threads || this.room() <= 0) return false;
    return this.placeBytes + bytes <= this.limits.handOffBytes;
  }

  promisePlace(bytes: number): void {
    this.places++;
    this.placeBytes += bytes;
  }

  unpromisePlace(bytes: number): void {
    this.places--;
    this.placeBytes -= bytes;
  }

  /**
   * A held job's promised place becomes a wait for a thread: granted at once
   * if one is free and nobody waits before it, else by the next thread freed.
   * False once stopped (a drain hands the image back instead).
   */
  waitForThread(job: Job, bytes: number): Promise<boolean> {
    this.unpromisePlace(bytes);
    if (this.stopped) return Promise.resolve(false);
    if (this.waiting.length === 0 && this.running + this.promised < this.limits.threads) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((grant) => this.waiting.push({ job, bytes, grant }));
  }

  /** A job's thread is done: it passes to the longest-waiting held image, else it is free. */
  vacate(): void {
    this.running--;
    this.passFreeThreads();
  }

  /** A job joins or leaves what this pod holds. */
  enter(): void {
    this.inHand++;
  }

  leave(): void {
    this.inHand--;
  }

  /** No thread for anyone any more: waiting images are told so (and handed back by the drain). */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiting.splice(0)) w.grant(false);
  }

  /** Free threads go to waiting images in order; those whose upload rolled back meanwhile are dropped unstarted. */
  private passFreeThreads(): void {
    while (this.waiting.length > 0 && this.running + this.promised < this.limits.threads) {
      const next = this.waiting.shift()!;
      if (next.job.rolledBack) {
        next.grant(false);
        continue;
      }
      this.running++;
      next.grant(true);
    }
  }
}
