/**
 * A bounded-concurrency gate. Previews, uploads, downloads and local resizes
 * each run through one so that a 500-file drop does not open 500 files,
 * decode 500 JPEGs or open 500 connections at once.
 */
import pLimit from 'p-limit';

export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Takes effect as running tasks finish (the upload concurrency is a setting). */
  setConcurrency(concurrency: number): void;
  readonly active: number;
  readonly waiting: number;
}

/** Upload concurrency: the settings' bounds, the same in both clients. */
export const UPLOAD_CONCURRENCY = { min: 1, max: 16, default: 4 } as const;

/** p-limit underneath: plain ECMAScript, so the browser bundle carries it too. */
export function createLimiter(concurrency: number): Limiter {
  const limit = pLimit(whole(concurrency));
  return {
    run: (task) => limit(task),
    setConcurrency(value: number): void {
      limit.concurrency = whole(value);
    },
    get active() {
      return limit.activeCount;
    },
    get waiting() {
      return limit.pendingCount;
    },
  };
}

const whole = (n: number): number => Math.max(1, Math.floor(n));

/** Maps over items with at most `concurrency` in flight, keeping the input order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limiter = createLimiter(concurrency);
  return Promise.all(items.map((item, index) => limiter.run(() => fn(item, index))));
}
