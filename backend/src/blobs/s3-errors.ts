/**
 * What an S3 failure means for a client: the blob is gone (404), the store
 * is full (507), unreachable or slow (503: retry later), or set up wrong
 * (not ready until someone fixes the bucket or the credentials). Messages
 * name the bucket and what failed, never a credential.
 */
import { BlobNotFoundError, BlobStoreError, isBlobStoreError } from './blob-store.js';

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const asShape = (err: unknown): SdkErrorShape => (typeof err === 'object' && err !== null ? err : {});

/** The S3 error code (`NoSuchKey`), else the SDK's error name, else Node's errno code. */
export function s3ErrorCode(err: unknown): string {
  const e = asShape(err);
  return e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'Error';
}

export function s3Status(err: unknown): number | undefined {
  return asShape(err).$metadata?.httpStatusCode;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const REFUSED_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired']);
const FULL = new Set(['QuotaExceeded', 'InsufficientCapacity', 'EntityTooLarge']);
/** Node's errno codes for a store that is down, unreachable or too slow. */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** The SDK's words for the same failures, made plain. */
function describe(err: unknown, code: string, status: number | undefined): string {
  const e = asShape(err);
  const message = (e.message ?? '')
    .replace(/^@smithy\/[\w-]+ - (\[\w+\] )?/, '')
    .replace(/ \((configured by client requestHandler|service default socket timeout)\)\.?$/, '');
  // (The SDK names a reset connection a TimeoutError too: the errno says which.)
  if (e.code === 'ETIMEDOUT' || (code === 'TimeoutError' && !e.code)) return `timed out (${message || 'no answer'})`;
  if (e.code && NETWORK.has(e.code)) return `${message || e.code} (${e.code})`;
  const plain = e.message && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return `${code}${status ? ` (HTTP ${status})` : ''}${plain}`;
}

/**
 * The BlobStoreError for an S3 failure in `what` ("reading originals/3f/…"
 * of `where`, "bucket \"photos\" at http://…"). An error that already is
 * one is returned as it is.
 */
export function blobErrorFrom(err: unknown, what: string, where: string): BlobStoreError {
  if (isBlobStoreError(err)) return err;
  const code = s3ErrorCode(err);
  const status = s3Status(err);
  const e = asShape(err);
  if (NOT_FOUND.has(code)) return new BlobNotFoundError(what, { cause: err });
  const reason = describe(err, code, status);
  const say = (fault: BlobStoreError['fault'], text: string) => new BlobStoreError(fault, `S3 store (${where}): ${what}: ${text}`, { cause: err });
  if (code === 'NoSuchBucket') return say('misconfigured', 'the bucket does not exist');
  if (REFUSED_CREDENTIALS.has(code)) return say('misconfigured', `the store refuses these credentials (${code})`);
  if (code === 'AccessDenied' || (status === 403 && !FULL.has(code)))
    return say('misconfigured', `access denied: the credentials lack the permission (${code})`);
  if (code === 'CredentialsProviderError')
    return say('misconfigured', `no credentials: ${e.message ?? 'none found'} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a credentials file)`);
  if (/region is missing/i.test(e.message ?? '')) return say('misconfigured', 'no region (set AWS_REGION)');
  if (FULL.has(code) || status === 507) return say('full', `the store is full (${reason})`);
  if (code === 'AbortError') return say('unavailable', 'aborted');
  if (code === 'TimeoutError' || (e.code && NETWORK.has(e.code)) || (status !== undefined && status >= 500)) {
    return say('unavailable', reason);
  }
  // Anything else the store refused is a request it cannot serve as set up.
  if (status !== undefined && status >= 400) return say('misconfigured', reason);
  return say('unavailable', reason);
}
