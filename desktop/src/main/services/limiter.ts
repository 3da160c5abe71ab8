/**
 * The concurrency gate lives in the shared client policy (the browser
 * adapter bounds its uploads with the same one); this module adds the
 * cancellable wait, which needs timers and AbortSignal.
 */
export { createLimiter, mapLimit, type Limiter } from '../../shared/api-policy/index.js';

/** Resolves after `ms`, or rejects at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
