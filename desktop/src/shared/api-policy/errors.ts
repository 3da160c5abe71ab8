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
