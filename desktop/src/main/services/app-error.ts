/**
 * Errors that reach the renderer carry a stable code (the UI branches on it:
 * OFFLINE shows the offline banner, CANCELLED is not an error at all) and a
 * message a person can act on.
 */
import { isImageError } from '@imgfleet/backend/imaging';

export type AppErrorCode =
  | 'OFFLINE'
  | 'HTTP_ERROR'
  | 'CANCELLED'
  | 'INVALID_ARGUMENTS'
  | 'INVALID_SETTINGS'
  | 'FORBIDDEN_PATH'
  | 'NO_OUTPUT_FOLDER'
  | 'NOT_A_JPEG'
  | 'NOT_AN_IMAGE'
  | 'IO_ERROR'
  | 'INTERNAL'
  | (string & {});

export class AppError extends Error {
  readonly code: AppErrorCode;
  /** HTTP status when the backend answered with an error. */
  readonly status: number | undefined;

  constructor(code: AppErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status;
  }
}

export interface ErrorInfo {
  message: string;
  code: string;
}

/** Any thrown value as {message, code}, for IPC and per-file outcomes. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof AppError) return { message: err.message, code: err.code };
  if (isImageError(err)) return { message: err.message, code: err.code };
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { message: err.message, code: 'IO_ERROR' };
    return { message: err.message, code: 'INTERNAL' };
  }
  return { message: String(err), code: 'INTERNAL' };
}
