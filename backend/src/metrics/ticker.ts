/**
 * The hub's clock: a first reading (the baseline the first snapshot's rates
 * are relative to), the first tick soon after, then one tick a period. A tick
 * still running is never doubled up, and the timers never keep an otherwise
 * finished process alive.
 */
import type { Logger } from 'pino';

export interface TickerOptions {
  periodMs: number;
  prime: () => Promise<void>;
  tick: () => Promise<void>;
  logger: Logger;
}

export class Ticker {
  private started = false;
  private stopped = false;
  private firstTimer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;

  constructor(private readonly options: TickerOptions) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.prime().then(
      () => this.begin(),
      (err: unknown) => {
        this.options.logger.warn({ err }, 'metrics: first reading failed');
        this.begin();
      },
    );
  }

  /** Stops the timers and waits for a tick in progress. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.firstTimer);
    clearInterval(this.interval);
    await this.current;
  }

  private begin(): void {
    if (this.stopped) return;
    const { periodMs } = this.options;
    // The first snapshot comes sooner than a full period (its figures cover
    // the shorter interval), so a fresh pod shows up quickly.
    this.firstTimer = setTimeout(
      () => {
        this.run();
        this.interval = setInterval(() => this.run(), periodMs);
        this.interval.unref();
      },
      Math.min(periodMs, 1000),
    );
    this.firstTimer.unref();
  }

  private run(): void {
    // A tick still running (very slow /proc or appStats) is not doubled up.
    if (this.current || this.stopped) return;
    this.current = this.options
      .tick()
      .catch((err: unknown) => this.options.logger.warn({ err }, 'metrics: taking a snapshot failed'))
      .finally(() => {
        this.current = undefined;
      });
  }
}
