/**
 * Turning a backend's answer into the `{code, message}` the UI branches on.
 * The backend's errors are JSON `{error, code}`; anything else (a proxy's
 * HTML page, an empty body) keeps the status line.
 */

export interface Failure {
  code: string;
  message: string;
  /** The HTTP status, when the backend (or a proxy) answered. */
  status?: number;
}

/** The backend's `{error, code}` body, from parsed JSON or its text; null when the body is something else. */
export function parseErrorBody(body: unknown): { error: string; code?: string } | null {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const { error, code } = value as { error?: unknown; code?: unknown };
  if (typeof error !== 'string') return null;
  return typeof code === 'string' ? { error, code } : { error };
}

/** An error answer (status ≥ 400) as a failure: the backend's code and words when it gave them. */
export function failureFromResponse(status: number, statusText: string, body: unknown): Failure {
  const parsed = parseErrorBody(body);
  return {
    code: parsed?.code ?? `HTTP_${status}`,
    message: parsed?.error ?? `the backend answered ${status} ${statusText}`.trim(),
    status,
  };
}

/** The request never got an answer: the UI shows its offline state. */
export function offlineFailure(baseUrl: string, reason?: string): Failure {
  return { code: 'OFFLINE', message: `the backend at ${baseUrl} is unreachable${reason ? ` (${reason})` : ''}` };
}

export const CANCELLED: Readonly<Failure> = { code: 'CANCELLED', message: 'upload cancelled' };

/** Low-level network words (Node's error codes, undici's and browsers' messages) → what a person can read. */
const NETWORK_WORDS: readonly (readonly [RegExp, string])[] = [
  [/ECONNREFUSED|connection refused/i, 'nothing answers at that address; is the backend running?'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo|name not resolved/i, 'its host name cannot be found'],
  [/ETIMEDOUT|timed? ?out|UND_ERR_CONNECT_TIMEOUT/i, 'it did not answer in time'],
  [/ECONNRESET|EPIPE|socket hang up|UND_ERR_SOCKET|connection (was )?(reset|closed)/i, 'the connection was cut'],
  [/EHOSTUNREACH|ENETUNREACH|ENETDOWN|network is unreachable/i, 'this computer has no route to it; is the network up?'],
  [/CERT_|certificate|\bSSL\b|\bTLS\b|self[- ]signed/i, 'its certificate was not accepted'],
];

/** What a program printed (a TypeError, an error code, a stack): not for a person to read as is. */
const TECHNICAL = /TypeError|Error:|fetch failed|\bE[A-Z]{3,}\b|UND_ERR|Failed to fetch|NetworkError/;

/**
 * Why a connection failed, in words a person can act on: the known codes
 * and messages translated, anything else technical said plainly, and what
 * is already a sentence ("the backend answered 502") kept.
 */
export function humanNetworkReason(raw: string | undefined): string {
  const text = (raw ?? '').trim();
  if (text === '') return 'no connection';
  for (const [pattern, words] of NETWORK_WORDS) if (pattern.test(text)) return words;
  return TECHNICAL.test(text) ? 'the connection failed' : text;
}
