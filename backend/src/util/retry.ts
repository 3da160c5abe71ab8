// The module object, not a named import: node:test's mock timers patch its
// setTimeout, so unit tests can step through the backoff without waiting.
import timers from 'node:timers/promises';

/**
 * Retries an operation that fails for passing reasons (a database restart), with capped backoff.
 * Not p-retry: it stops when keepTrying() says the lease is gone, with no
 * attempt count, and its jitter (±25 %) is not p-retry's (×1 to ×2);
 * p-retry would also rewrap anything thrown that is not an Error.
 */
export interface RetryOptions {
  /** Which failures are worth another try. */
  isTransient: (err: unknown) => boolean;
  /** Give up once this returns false (the lease is gone, the process is stopping). */
  keepTrying: () => boolean;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (err: unknown, attempt: number) => void;
}

export async function retryTransient<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { baseDelayMs = 100, maxDelayMs = 2000 } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!options.isTransient(err) || !options.keepTrying()) throw err;
      options.onRetry?.(err, attempt);
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      await timers.setTimeout(delay * (0.75 + Math.random() * 0.5));
    }
  }
}
