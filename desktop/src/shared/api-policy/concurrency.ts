/**
 * A bounded-concurrency gate. Previews, uploads, downloads and local resizes
 * each run through one so that a 500-file drop does not open 500 files,
 * decode 500 JPEGs or open 500 connections at once.
 */
export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Takes effect as running tasks finish (the upload concurrency is a setting). */
  setConcurrency(concurrency: number): void;
  readonly active: number;
  readonly waiting: number;
}

/** Upload concurrency: the settings' bounds, the same in both clients. */
export const UPLOAD_CONCURRENCY = { min: 1, max: 16, default: 4 } as const;

export function createLimiter(concurrency: number): Limiter {
  let limit = Math.max(1, Math.floor(concurrency));
  let active = 0;
  const queue: (() => void)[] = [];

  const next = (): void => {
    while (active < limit && queue.length > 0) {
      active++;
      queue.shift()!();
    }
  };

  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push(() => {
          task()
            .then(resolve, reject)
            .finally(() => {
              active--;
              next();
            });
        });
        next();
      });
    },
    setConcurrency(value: number): void {
      limit = Math.max(1, Math.floor(value));
      next();
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}

/** Maps over items with at most `concurrency` in flight, keeping the input order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limiter = createLimiter(concurrency);
  return Promise.all(items.map((item, index) => limiter.run(() => fn(item, index))));
}
