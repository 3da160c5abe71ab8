/** File-system errors told as blob-store faults a client can act on. */
import { BlobNotFoundError, BlobStoreError } from './blob-store.js';

function codeOf(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err ? String(err.code) : undefined;
}

export function isMissing(err: unknown): boolean {
  return codeOf(err) === 'ENOENT';
}

/** `what` is what was being done, e.g. "writing originals/3f/3f2a…". */
export function fsFault(err: unknown, what: string, dir: string): BlobStoreError {
  if (err instanceof BlobStoreError) return err;
  const cause = { cause: err };
  switch (codeOf(err)) {
    case 'ENOENT':
      return new BlobNotFoundError(what, cause);
    case 'ENOSPC':
    case 'EDQUOT':
      return new BlobStoreError('full', `the blob store (${dir}) has no space left (${what})`, cause);
    case 'EROFS':
      return new BlobStoreError('misconfigured', `the blob store (${dir}) is on a read-only file system (${what})`, cause);
    case 'EACCES':
    case 'EPERM':
      return new BlobStoreError('misconfigured', `this process may not write to the blob store (${dir}): check the volume's owner or fsGroup (${what})`, cause);
    default:
      return new BlobStoreError('unavailable', `the blob store (${dir}) failed ${what}: ${err instanceof Error ? err.message : String(err)}`, cause);
  }
}

/**
 * A write's failure. There, ENOENT is not a missing blob but a missing
 * folder (the volume was unmounted, or `.tmp` removed under us; Node's
 * recursive mkdir also says ENOENT on a read-only file system): the store
 * cannot be used right now, which a client retries, not a 404.
 */
export function fsWriteFault(err: unknown, what: string, dir: string): BlobStoreError {
  if (codeOf(err) === 'ENOENT') {
    return new BlobStoreError(
      'unavailable',
      `a folder of the blob store (${dir}) is missing or cannot be made (${what}): is the blob volume mounted and writable?`,
      { cause: err },
    );
  }
  return fsFault(err, what, dir);
}
