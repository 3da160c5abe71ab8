/**
 * Every image's time limit, in proportion to its work and this machine's
 * speed, counted in its FAIR SHARE of a core rather than on the clock.
 *
 * The limit exists to catch stuck work (a decoder in a loop, ten million
 * rows of one pixel), never honest work. On a 2-core pod with 4 threads, an
 * AVIF 4K encode gets half a core at best, and a third with another process
 * eating CPU beside it: a wall-clock limit either fails it or is so long it
 * catches nothing. So the clock runs slower while the CPUs are crowded: each
 * tick adds its length divided by the contention (threads per core,
 * cpu-contention.ts). A job that needs 16 s of a core gets a limit of
 * base + slack × 16 s × speed of fair share, whatever else runs.
 */
import type { ContentionSource } from './cpu-contention.js';

export interface TimeLimitSettings {
  /** Allowed for any image, whatever its work (IMAGE_TIMEOUT_SECONDS), ms. */
  baseMs: number;
  /** How many times its expected work a job may take before it counts as stuck. */
  slack: number;
  /** This machine's speed against the reference machine's (calibrate.ts): 2 means half as fast. */
  speed: () => number;
}

/** The limit of a job whose work is `cpuMs` on the reference machine, ms of fair share. */
export function timeLimitMs(cpuMs: number, settings: TimeLimitSettings): number {
  return Math.ceil(settings.baseMs + settings.slack * cpuMs * settings.speed());
}

/** The limit as a person reads it. */
export function describeLimit(limitMs: number, baseMs: number): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  return `${s(limitMs)} of a fair share of one core (${s(baseMs)} for any image plus its work)`;
}

/**
 * Runs down a job's limit while it works: `onExpire` is called once its
 * fair share has used the limit up. `stop` ends it either way.
 */
export class FairShareDeadline {
  private usedMs = 0;
  private last: number;
  private timer: NodeJS.Timeout | undefined;
  private wallStart: number;

  constructor(
    readonly limitMs: number,
    private readonly contention: ContentionSource,
    private readonly onExpire: () => void,
    private readonly tickMs = 200,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now();
    this.wallStart = this.last;
  }

  start(): this {
    this.timer = setInterval(() => this.tick(), this.tickMs);
    return this;
  }

  /** Fair-share time used so far, ms. */
  get used(): number {
    return this.usedMs;
  }

  /** Clock time since the start, ms. */
  get wallMs(): number {
    return this.now() - this.wallStart;
  }

  tick(): void {
    const t = this.now();
    this.usedMs += (t - this.last) / this.contention.current();
    this.last = t;
    if (this.usedMs >= this.limitMs) {
      this.stop();
      this.onExpire();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
