/**
 * Reasons a file can only fail again: the backend refused it on upload
 * (its content, not the network), its decoder refused it on the cluster
 * (the same bytes get the same answer), or the check on this computer,
 * which applies the backend's own rules, found the same. Such a file is not
 * uploaded, and no Retry is offered for it. These are the backend's image
 * errors (imaging/errors.ts) except TIMEOUT, which a less busy pod may not
 * meet, plus the desktop's NOT_A_JPEG.
 */
export const REJECTION_CODES: ReadonlySet<string> = new Set([
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_TYPE',
  'TOO_MANY_PIXELS',
  'CORRUPT_IMAGE',
  'NOT_A_JPEG',
]);

/** Whether a file refused with `code` can only be refused again. */
export function isRejection(code: string | null | undefined): boolean {
  return code !== null && code !== undefined && REJECTION_CODES.has(code);
}
