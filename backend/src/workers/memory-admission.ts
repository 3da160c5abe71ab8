/**
 * Admits resize jobs by the memory they need, so the sum in flight stays
 * under the pod's limit: first come first served (a large job is not starved
 * by a stream of small ones), and a job alone always runs (it was checked
 * against the whole budget at upload).
 *
 * The room for jobs is the budget, and also what the process itself leaves
 * of its memory limit right now: libvips and glibc keep memory after a job
 * (measured: 500 MiB of RSS after four AVIF encodes with glibc's defaults,
 * against 200 at start), and a budget that ignored it let four lossless PNG
 * encodes that followed take the pod to its limit. So the process's own
 * share is watched: its RSS whenever no job is in flight, and its RSS minus
 * what the jobs in flight were granted at any other time (the larger of the
 * two since the last idle moment, as a job may use more than its estimate).
 */
import type { MemoryBudget } from './memory-budget.js';

const MiB = 1024 * 1024;
/** Kept free below the limit for what no estimate sees (a burst of uploads, the heap's next growth). */
const HEADROOM_BYTES = 64 * MiB;

interface Waiter {
  units: number;
  grant: () => void;
}

export class MemoryAdmission {
  private readonly waiters: Waiter[] = [];
  private used = 0;
  /** The process's own memory, besides the jobs' (see above); undefined until first sampled. */
  private overhead: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly budget: MemoryBudget,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
    private readonly sampleMs = 1000,
  ) {}

  /** A job above this never fits (it is refused at upload). */
  get capacity(): number {
    return this.budget.bytes;
  }

  get inUse(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Bytes jobs may hold now: the budget, less what the process itself holds beyond its reserve. */
  get room(): number {
    const limit = this.budget.limitBytes;
    if (limit === undefined || this.overhead === undefined) return this.budget.bytes;
    return Math.min(this.budget.bytes, limit - this.overhead - HEADROOM_BYTES);
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Takes one reading of the process's memory (the timer's; tests call it directly). */
  sample(): void {
    const rss = this.rss();
    this.overhead = this.used === 0 ? rss : Math.max(this.overhead ?? 0, rss - this.used);
    this.grant();
  }

  /** Resolves once `units` fit; a request above the capacity can never fit and throws at once. */
  async acquire(units: number): Promise<() => void> {
    if (units > this.capacity) throw new RangeError(`${units} bytes can never fit in a budget of ${this.capacity}`);
    if (this.waiters.length === 0 && this.fits(units)) this.used += units;
    else await new Promise<void>((grant) => this.waiters.push({ units, grant }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= units;
      this.grant();
    };
  }

  private fits(units: number): boolean {
    return this.used === 0 || this.used + units <= this.room;
  }

  private grant(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.units)) {
      const next = this.waiters.shift()!;
      this.used += next.units;
      next.grant();
    }
  }
}
