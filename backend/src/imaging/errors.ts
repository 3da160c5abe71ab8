/**
 * Per-file image errors. Each carries a stable code (for clients and tests)
 * and a message a person can act on. They are always about one file: the
 * rest of its batch is never affected.
 */
export type ImageErrorCode =
  | 'EMPTY_FILE'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_TYPE'
  | 'TOO_MANY_PIXELS'
  | 'CORRUPT_IMAGE'
  /** Processing took longer than the image's time limit. */
  | 'TIMEOUT'
  /** maxBytes: even the lowest quality gives a larger file. */
  | 'TARGET_SIZE_UNREACHABLE';

export class ImageError extends Error {
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.name = 'ImageError';
    this.code = code;
  }
}

export function isImageError(err: unknown): err is ImageError {
  return err instanceof ImageError;
}
