/**
 * How crowded the CPUs are: threads that want to run, per core this process
 * may use. A job's time limit is counted in its fair share of a core
 * (time-limit.ts), so an honest job slowed by four threads on two cores, or
 * by another process eating CPU beside it, is never taken for a stuck one.
 *
 * Linux's /proc/loadavg gives, besides the averages, the number of
 * runnable threads right now ("3/412"): sampled a few times a second and
 * averaged over a couple of seconds, it follows a CPU hog within seconds,
 * where the 1-minute load average would lag a minute behind. Inside a
 * container it counts the whole node: an overestimate, which only makes
 * the limits more generous. Where it cannot be read (not Linux), the
 * 1-minute load average stands in, and failing that the threads this
 * process keeps busy.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface ContentionSource {
  /** Threads per core competing for the CPUs now, at least 1. */
  current(): number;
}

/** Runnable threads from /proc/loadavg's fourth field, or undefined where it cannot be read. */
export function readRunnable(procLoadavg = '/proc/loadavg'): number | undefined {
  try {
    const m = /^\S+\s+\S+\s+\S+\s+(\d+)\//.exec(readFileSync(procLoadavg, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export class CpuContention implements ContentionSource {
  private readonly samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Cores this process may use (the container's CPU limit, else the machine's). */
    readonly cores = os.availableParallelism(),
    /** Threads this process itself keeps busy right now (a floor when nothing else can be read). */
    private readonly ownBusy: () => number = () => 0,
    private readonly read: () => number | undefined = readRunnable,
    private readonly sampleMs = 250,
    private readonly window = 8,
  ) {}

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one reading (called by the timer; tests call it directly). */
  sample(): void {
    const runnable = this.read() ?? os.loadavg()[0] ?? 0;
    this.samples.push(runnable);
    if (this.samples.length > this.window) this.samples.shift();
  }

  current(): number {
    const mean = this.samples.length ? this.samples.reduce((a, b) => a + b, 0) / this.samples.length : 0;
    return Math.max(1, mean / this.cores, this.ownBusy() / this.cores);
  }
}
