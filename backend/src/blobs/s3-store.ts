/**
 * The S3 store: photos' bytes as objects in one bucket of any
 * S3-compatible object storage (AWS S3, Google Cloud Storage's
 * interoperability API, Ceph RGW, MinIO...), under `S3_PREFIX`, at the keys
 * `newBlobKey` makes. It is tested against a real Ceph RADOS Gateway
 * (scripts/rgw/rgw.sh).
 *
 * Every call is bounded (a connection timeout, a timeout until the answer,
 * a stall timeout on downloads) and every failure becomes a BlobStoreError
 * whose fault says what a client can do about it. The bucket is created by
 * the first `check()` when it is missing and the credentials allow it.
 */
import { randomUUID } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { loadEnv } from '../config/env.js';
import {
  BlobStoreError,
  kindOfKey,
  newBlobKey,
  type BlobKind,
  type BlobRef,
  type BlobStore,
  type BlobWriter,
  type ByteRange,
  type ListedBlob,
  type Queryable,
  type StagedBlob,
  type WorkerBlobAccess,
} from './blob-store.js';
import { blobErrorFrom, s3ErrorCode, s3Status } from './s3-errors.js';
import { watchedBody } from './s3-reader.js';
import { createS3Client, normalizePrefix, s3SettingsFromEnv, type S3StoreSettings } from './s3-settings.js';
import { S3BlobWriter, type WriterHost } from './s3-writer.js';

/** Where the store is, for messages: the bucket, the prefix, a custom endpoint (never a credential). */
function describeWhere(settings: S3StoreSettings): string {
  const configured = settings.client?.endpoint;
  const raw = typeof configured === 'string' ? configured : (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  let endpoint = '';
  if (raw) {
    try {
      const url = new URL(raw);
      url.username = '';
      url.password = '';
      endpoint = ` at ${url.origin}`;
    } catch {
      endpoint = ' at an endpoint that is not a URL';
    }
  }
  return `bucket "${settings.bucket}"${settings.prefix ? ` prefix "${settings.prefix}"` : ''}${endpoint}`;
}

function isByteRange(range: ByteRange): boolean {
  const { start, end } = range;
  return Number.isSafeInteger(start) && start >= 0 && (end === undefined || (Number.isSafeInteger(end) && end >= start));
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  /** GET, HEAD, listings, signing (see S3ClientRole). */
  readonly client: S3Client;
  /** PUT, parts, deletes. */
  readonly writeClient: S3Client;
  /** "bucket "photos" at http://…", for messages. */
  readonly where: string;
  private readonly writerHost: WriterHost;

  constructor(readonly settings: S3StoreSettings) {
    this.client = createS3Client(settings, 'read');
    this.writeClient = createS3Client(settings, 'write');
    this.where = describeWhere(settings);
    this.writerHost = {
      client: this.writeClient,
      settings,
      where: this.where,
      discard: async (objectKey) => {
        await this.writeClient.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: objectKey })).catch((err: unknown) => {
          // The orphan sweep removes it later: the blob is named by no row.
          settings.logger?.warn(
            { err: blobErrorFrom(err, `removing ${objectKey}`, this.where).message },
            'S3 store: an aborted blob stays until the orphan sweep',
          );
        });
      },
    };
  }

  private fail(err: unknown, what: string): BlobStoreError {
    return blobErrorFrom(err, what, this.where);
  }

  async check(): Promise<void> {
    try {
      await access(this.settings.spoolDir, constants.W_OK);
    } catch (err) {
      throw new BlobStoreError('misconfigured', `S3 store: the upload spool folder ${this.settings.spoolDir} is not writable`, { cause: err });
    }
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.settings.prefix, MaxKeys: 1 }));
    } catch (err) {
      if (s3ErrorCode(err) !== 'NoSuchBucket') throw this.fail(err, 'listing the bucket');
      await this.createBucket();
    }
  }

  /** Makes the missing bucket, or says why it cannot be made. */
  private async createBucket(): Promise<void> {
    try {
      const region = await this.client.config.region();
      await this.writeClient.send(
        new CreateBucketCommand({
          Bucket: this.settings.bucket,
          // us-east-1 is S3's default and must not be named; elsewhere AWS needs it.
          ...(region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}),
        }),
      );
      this.settings.logger?.info({ bucket: this.settings.bucket }, 'S3 store: created the missing bucket');
    } catch (err) {
      // Another pod made it meanwhile.
      if (s3ErrorCode(err) === 'BucketAlreadyOwnedByYou') return;
      const cause = this.fail(err, 'the bucket does not exist and could not be created');
      // A store down meanwhile is passing; anything else needs someone to act.
      throw cause.fault === 'unavailable' ? cause : new BlobStoreError('misconfigured', cause.message, { cause: err });
    }
  }

  create(kind: BlobKind): BlobWriter {
    return new S3BlobWriter(this.writerHost, kind, newBlobKey(kind, randomUUID()));
  }

  async put(kind: BlobKind, bytes: Uint8Array): Promise<StagedBlob> {
    const key = newBlobKey(kind, randomUUID());
    try {
      // Bytes in memory: the SDK retries this one itself.
      await this.writeClient.send(
        new PutObjectCommand({ Bucket: this.settings.bucket, Key: this.settings.prefix + key, Body: bytes, ContentLength: bytes.length }),
      );
    } catch (err) {
      throw this.fail(err, `writing ${key}`);
    }
    return { kind, key, size: bytes.length };
  }

  async attach(_db: Queryable, _imageId: number, _blob: StagedBlob): Promise<void> {
    // The object is complete since finish(): the row only names its key.
  }

  private keyOf(ref: BlobRef): string {
    if (ref.key === null) throw new BlobStoreError('misconfigured', `S3 store: image ${ref.imageId}'s ${ref.kind} has no key (written by another store?)`);
    return ref.key;
  }

  async open(ref: BlobRef, range?: ByteRange): Promise<Readable> {
    const key = this.keyOf(ref);
    const what = `reading ${key}`;
    // S3 ignores a malformed Range and answers the whole object: never send one.
    if (range && !isByteRange(range)) throw new RangeError(`S3 store: not a byte range: ${JSON.stringify(range)}`);
    let answer;
    try {
      answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.settings.prefix + key,
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
        }),
      );
    } catch (err) {
      // A range starting at or past the end holds no bytes, as a file read past its end.
      if (range && s3Status(err) === 416) return Readable.from([]);
      throw this.fail(err, what);
    }
    // In Node the SDK's body is the HTTP response itself (an IncomingMessage).
    const body = answer.Body as Readable | undefined;
    if (!body) throw new BlobStoreError('unavailable', `S3 store (${this.where}): ${what}: the answer had no body`);
    const expected = answer.ContentLength;
    return watchedBody(body, this.settings.requestTimeoutMs, (cause, received) => {
      const of = expected === undefined ? '' : ` of ${expected}`;
      return this.fail(cause, `${what}: the download broke after ${received}${of} bytes`);
    });
  }

  async read(ref: BlobRef): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(ref)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async size(ref: BlobRef): Promise<number | null> {
    const key = this.keyOf(ref);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.settings.prefix + key }));
      return head.ContentLength ?? 0;
    } catch (err) {
      const fault = this.fail(err, `reading the size of ${key}`);
      if (fault.fault === 'not-found') return null;
      throw fault;
    }
  }

  async discard(blob: StagedBlob): Promise<void> {
    if (blob.key) await this.remove([{ imageId: 0, kind: blob.kind, key: blob.key }]);
  }

  async remove(refs: readonly BlobRef[], _db?: Queryable): Promise<void> {
    const keys = [...new Set(refs.flatMap((r) => (r.key === null ? [] : [this.settings.prefix + r.key])))];
    const size = Math.max(1, Math.min(1000, this.settings.deleteBatch));
    for (let i = 0; i < keys.length; i += size) {
      const batch = keys.slice(i, i + size);
      let answer;
      try {
        answer = await this.writeClient.send(
          new DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
      } catch (err) {
        throw this.fail(err, `removing ${batch.length} blobs`);
      }
      // A key already gone is not an error (S3 does not report it); anything else is.
      const failed = (answer.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0];
        throw this.fail(
          Object.assign(new Error(first?.Message ?? 'refused'), { Code: first?.Code }),
          `removing ${failed.length} of ${batch.length} blobs (first: ${first?.Key ?? '?'})`,
        );
      }
    }
  }

  /** Our blobs last written before `olderThan`, page by page. */
  async *list(olderThan: Date): AsyncIterable<ListedBlob> {
    for (const folder of ['originals/', 'results/']) {
      const pages = paginateListObjectsV2(
        { client: this.client, pageSize: this.settings.listPageSize },
        { Bucket: this.settings.bucket, Prefix: this.settings.prefix + folder },
      );
      try {
        for await (const page of pages) {
          for (const object of page.Contents ?? []) {
            const key = object.Key?.slice(this.settings.prefix.length) ?? '';
            const kind = kindOfKey(key);
            if (!kind || !object.LastModified || object.LastModified >= olderThan) continue;
            yield { key, kind, size: object.Size ?? 0, modifiedAt: object.LastModified };
          }
        }
      } catch (err) {
        throw this.fail(err, `listing ${folder}`);
      }
    }
  }

  /**
   * Aborts the multipart uploads begun before `olderThan`: a pod killed
   * mid-upload leaves one, whose parts take space but name no object.
   */
  async sweepIncomplete(olderThan: Date): Promise<number> {
    const { bucket: Bucket, prefix } = this.settings;
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    let aborted = 0;
    try {
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix, MaxUploads: this.settings.listPageSize, ...markers }));
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan) continue;
          if (!kindOfKey(upload.Key.slice(prefix.length))) continue;
          await this.writeClient.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.Key, UploadId: upload.UploadId }));
          aborted++;
        }
        if (!page.IsTruncated) return aborted;
        markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (err) {
      throw this.fail(err, 'aborting abandoned multipart uploads');
    }
  }

  /**
   * A URL the client can fetch the blob from itself for `expiresInSeconds`,
   * so a download's bytes bypass the pods: the store answers with the
   * given Content-Type and Content-Disposition. Only signing happens here
   * (no request); whoever holds the URL can read the blob until it
   * expires, and it must be an address the client can reach.
   */
  async presignedDownloadUrl(ref: BlobRef, options: { expiresInSeconds: number; contentType?: string; contentDisposition?: string }): Promise<string> {
    const key = this.keyOf(ref);
    const command = new GetObjectCommand({
      Bucket: this.settings.bucket,
      Key: this.settings.prefix + key,
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.contentDisposition,
    });
    try {
      return await getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
    } catch (err) {
      throw this.fail(err, `signing a download of ${key}`);
    }
  }

  workerAccess(): WorkerBlobAccess {
    return { kind: 's3', bucket: this.settings.bucket, prefix: this.settings.prefix, forcePathStyle: this.settings.forcePathStyle };
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.writeClient.destroy();
  }
}

/** The store `BLOB_STORE=s3` names, from the validated environment. */
export function s3StoreFromEnv(env = loadEnv(), logger?: S3StoreSettings['logger']): S3BlobStore {
  return new S3BlobStore({ ...s3SettingsFromEnv(env), logger });
}

/**
 * A worker thread's own store, from the main thread's `workerAccess()` and
 * the environment (which a worker thread inherits: the SDK finds the
 * endpoint and credentials there as the main thread did).
 */
export function s3StoreFromAccess(access: Extract<WorkerBlobAccess, { kind: 's3' }>, env = loadEnv(), logger?: S3StoreSettings['logger']): S3BlobStore {
  return new S3BlobStore({
    ...s3SettingsFromEnv({ ...env, S3_BUCKET: access.bucket }),
    bucket: access.bucket,
    prefix: normalizePrefix(access.prefix),
    forcePathStyle: access.forcePathStyle,
    logger,
  });
}
