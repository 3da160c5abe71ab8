/**
 * Time limits of one upload request, and what the person is told when one
 * is reached. Without them a request whose body was fully sent but never
 * answered sat at "Uploading 100%" with a running ETA for ever.
 */
export interface UploadTimeouts {
  /** After the last byte of the body was sent, how long to wait for the answer. */
  responseAfterBodyMs: number;
  /** The whole request, first byte to answer (a very slow link still gets this long). */
  requestMs: number;
}

export const DEFAULT_UPLOAD_TIMEOUTS: Readonly<UploadTimeouts> = { responseAfterBodyMs: 60_000, requestMs: 30 * 60_000 };

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** Not retried by itself: the backend may still be working on it; the person can retry (same key, so no duplicate). */
export function noAnswerFailure(timeouts: Readonly<UploadTimeouts>): { code: string; message: string } {
  return {
    code: 'NO_RESPONSE',
    message: `the file was sent, but the backend did not answer within ${seconds(timeouts.responseAfterBodyMs)}; retry it`,
  };
}

export function requestTimeoutFailure(timeouts: Readonly<UploadTimeouts>): { code: string; message: string } {
  return { code: 'UPLOAD_TIMEOUT', message: `the upload took longer than ${seconds(timeouts.requestMs)}; retry it` };
}
