/**
 * Idempotency keys: one random UUID per upload request, sent as
 * `Idempotency-Key` on its first try and on every retry of it, so that a
 * retry after a lost answer is recognised by the backend (which replays the
 * first response) instead of storing the file twice.
 */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * Failures after which the backend may or may not have the file: the next
 * try of it (the person's Retry too) keeps the key, so the backend answers
 * it with the first request's outcome instead of storing the file again.
 * After any answer from the backend, a new request gets a new key.
 */
export const UNANSWERED_CODES: ReadonlySet<string> = new Set(['OFFLINE', 'NO_RESPONSE', 'UPLOAD_TIMEOUT', 'CANCELLED']);

export function keepsIdempotencyKey(code: string): boolean {
  return UNANSWERED_CODES.has(code);
}

interface RandomSource {
  randomUUID?: () => string;
  getRandomValues<T extends Uint8Array>(array: T): T;
}

/**
 * A version 4 UUID. `crypto.randomUUID` exists only in secure contexts, and
 * the web page may be served over plain http from a cluster's host name, so
 * the fallback builds one from `getRandomValues` (available everywhere).
 */
export function newIdempotencyKey(random: RandomSource = (globalThis as unknown as { crypto: RandomSource }).crypto): string {
  if (typeof random.randomUUID === 'function') return random.randomUUID();
  const bytes = random.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
