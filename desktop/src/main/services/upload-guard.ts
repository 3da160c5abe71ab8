/**
 * The time limits of one upload attempt (shared/api-policy/upload-limits):
 * a clock for the whole request, and one started when the last byte of the
 * body has gone out, so a backend that took the file and never answers ends
 * the attempt with a reason instead of "Uploading 100%" for ever. The
 * caller's own signal (Cancel) still aborts it as before.
 */
import { noAnswerFailure, requestTimeoutFailure, type UploadTimeouts } from '../../shared/api-policy/index.js';
import { AppError } from './app-error.js';

export interface UploadGuard {
  /** Abort signal for the request: the caller's cancel, or a time limit. */
  readonly signal: AbortSignal;
  /** Body progress; `total` undefined when the length is unknown (then only the whole-request clock applies). */
  progress(loaded: number, total: number | undefined): void;
  /** The time limit that ended the attempt, if one did. */
  failure(): AppError | null;
  dispose(): void;
}

export function createUploadGuard(timeouts: Readonly<UploadTimeouts>, outer?: AbortSignal): UploadGuard {
  const controller = new AbortController();
  let failure: AppError | null = null;
  let answerClock: ReturnType<typeof setTimeout> | undefined;

  const trip = (reason: { code: string; message: string }): void => {
    if (failure || controller.signal.aborted) return;
    failure = new AppError(reason.code, reason.message);
    controller.abort(failure);
  };
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const requestClock = setTimeout(() => trip(requestTimeoutFailure(timeouts)), timeouts.requestMs);

  return {
    signal: controller.signal,
    progress(loaded, total) {
      if (answerClock === undefined && total !== undefined && total > 0 && loaded >= total) {
        answerClock = setTimeout(() => trip(noAnswerFailure(timeouts)), timeouts.responseAfterBodyMs);
      }
    },
    failure: () => failure,
    dispose() {
      clearTimeout(requestClock);
      clearTimeout(answerClock);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}
