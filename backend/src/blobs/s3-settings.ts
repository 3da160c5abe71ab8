/**
 * The S3 store's settings and its SDK client. The bucket, prefix and
 * addressing come from our own variables (S3_*); where the store is and who
 * we are come from the AWS SDK's own standard settings (AWS_REGION,
 * AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a
 * credentials file, a web identity in EKS...), which the SDK reads itself:
 * none of it passes through our code or our logs.
 */
import os from 'node:os';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Env } from '../config/env.js';
import type { Logger } from '../logger.js';

export interface S3StoreSettings {
  bucket: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
  forcePathStyle: boolean;
  connectTimeoutMs: number;
  /** Until a read's answer starts; between two steps of a write's progress; the longest a download waits for its next bytes. */
  requestTimeoutMs: number;
  /** Where uploads are spooled while they arrive (their length is unknown until they end). */
  spoolDir: string;
  /** Blobs larger than this go up in parts. */
  multipartThreshold: number;
  partSize: number;
  /** Parts of one blob sent at once. */
  partConcurrency: number;
  /** Keys per DeleteObjects request (S3 takes at most 1000). */
  deleteBatch: number;
  /** Keys or uploads per listing request (S3 answers at most 1000). */
  listPageSize: number;
  /**
   * Where the store is and who we are, for tests and embedding: left out,
   * the SDK's own settings from the environment apply (the production path).
   */
  client?: Pick<S3ClientConfig, 'endpoint' | 'region' | 'credentials' | 'maxAttempts'>;
  logger?: Logger;
}

/** S3's smallest part is 5 MiB; 8 MiB parts send a 50 MiB upload in 7 requests, 4 at a time. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024;

/** `imgfleet` and `imgfleet/` both mean the folder `imgfleet/`. */
export function normalizePrefix(prefix: string): string {
  const p = prefix.trim().replace(/^\/+/, '');
  if (p === '') return '';
  return p.endsWith('/') ? p : `${p}/`;
}

export function s3SettingsFromEnv(env: Env): S3StoreSettings {
  if (!env.S3_BUCKET) throw new Error('S3_BUCKET is not set');
  return {
    bucket: env.S3_BUCKET,
    prefix: normalizePrefix(env.S3_PREFIX),
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    connectTimeoutMs: Math.round(env.S3_CONNECT_TIMEOUT_SECONDS * 1000),
    requestTimeoutMs: Math.round(env.S3_REQUEST_TIMEOUT_SECONDS * 1000),
    spoolDir: os.tmpdir(),
    multipartThreshold: DEFAULT_MULTIPART_THRESHOLD,
    partSize: DEFAULT_PART_SIZE,
    partConcurrency: 4,
    deleteBatch: 1000,
    listPageSize: 1000,
  };
}

/** The SDK's log lines (warnings about retries) go to our logger, at debug, never to the console. */
function sdkLogger(logger: Logger | undefined): S3ClientConfig['logger'] {
  const child = logger?.child({ component: 's3-sdk' });
  const at =
    (level: 'debug' | 'warn') =>
    (...content: unknown[]) =>
      child?.[level]({ sdk: content.map(String).join(' ') });
  return { trace: () => undefined, debug: at('debug'), info: at('debug'), warn: at('debug'), error: at('warn') };
}

/**
 * How a client bounds its requests:
 * - `read` (GET, HEAD, listings): the answer must start within the request
 *   timeout; a download's body is then watched for stalls by its reader
 *   (s3-reader.ts), not by the socket, whose idle timer would also fire
 *   for a slow client that paused the download.
 * - `write` (PUT, parts, deletes): no byte may wait longer than the
 *   request timeout to be sent or answered (the socket's idle timer). A
 *   whole-request deadline would fail a large part on a slow but healthy
 *   link.
 */
export type S3ClientRole = 'read' | 'write';

export function createS3Client(settings: S3StoreSettings, role: S3ClientRole): S3Client {
  const timeouts = role === 'read' ? { requestTimeout: settings.requestTimeoutMs, throwOnRequestTimeout: true } : { socketTimeout: settings.requestTimeoutMs };
  return new S3Client({
    forcePathStyle: settings.forcePathStyle,
    // Ceph RGW 16 (and other S3-compatible stores) do not know the SDK's
    // newer default checksums: a streamed PutObject would be sent
    // aws-chunked and refused with 411 MissingContentLength.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      ...timeouts,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
    logger: sdkLogger(settings.logger),
    ...settings.client,
  });
}
