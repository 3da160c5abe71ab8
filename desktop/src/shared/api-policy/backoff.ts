/**
 * When to try a request again, and after how long. Both clients retry only
 * what may not have reached the backend or what it refused for a moment:
 * an unreachable backend and the statuses proxies and load balancers use for
 * "not now".
 */

/** 429 Too Many Requests, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status);
}

/** A failure as both clients report it: a stable code, and the HTTP status when the backend answered. */
export interface FailureLike {
  code: string;
  status?: number | undefined;
}

/**
 * The backend's "this Idempotency-Key's first request is still in progress"
 * (409 with Retry-After): the same request is worth sending again shortly.
 */
export const KEY_IN_PROGRESS = 'IDEMPOTENCY_IN_PROGRESS';

/** Worth another try: the backend was unreachable, answered one of the transient statuses, or is still storing this key's first request. */
export function isTransientFailure(failure: FailureLike): boolean {
  return failure.code === 'OFFLINE' || failure.code === KEY_IN_PROGRESS || (failure.status !== undefined && isTransientStatus(failure.status));
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = { retries: 4, baseDelayMs: 500, maxDelayMs: 8000 };

/**
 * The wait before retry number `attempt` (1 = the first retry): exponential,
 * capped, with "equal jitter" (never below half the step, so retries from
 * many clients stay spaced out rather than arriving together).
 */
export function backoffDelay(attempt: number, policy: Readonly<RetryPolicy> = DEFAULT_RETRY, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (Math.max(1, attempt) - 1));
  return step / 2 + random() * (step / 2);
}

/** One attempt's answer: done (with the value to return), or worth retrying (with the failure, kept if it was the last). */
export type AttemptResult<T, F> = { done: T } | { retry: F };

export interface RetryLoop<T, F> {
  policy?: Readonly<RetryPolicy>;
  /** Runs attempt `n` (1-based). */
  attempt(n: number): Promise<AttemptResult<T, F>>;
  /** Waits `ms` before the next attempt; rejects (or returns false) when the work was cancelled meanwhile. */
  wait(ms: number): Promise<boolean>;
  /** What to return when the retries are used up. */
  exhausted(last: F): T;
  /** What to return when `wait` says the work was cancelled. */
  cancelled(): T;
}

/**
 * The retry loop both clients run around one request. Not p-retry: the wait
 * is the host's (injected timers that a Cancel ends early, see
 * cancellation.ts), and an attempt's answer says "retry" without throwing.
 */
export async function withRetries<T, F>(loop: RetryLoop<T, F>): Promise<T> {
  const policy = loop.policy ?? DEFAULT_RETRY;
  for (let n = 1; ; n++) {
    const result = await loop.attempt(n);
    if ('done' in result) return result.done;
    if (n > policy.retries) return loop.exhausted(result.retry);
    let go: boolean;
    try {
      go = await loop.wait(backoffDelay(n, policy));
    } catch {
      go = false;
    }
    if (!go) return loop.cancelled();
  }
}
