/**
 * An upload into the S3 store. An upload's part arrives as a stream of
 * unknown length, and S3 takes a stream only with its length up front
 * (RGW 16 refuses the SDK's chunked encoding; AWS needs the decoded length
 * even then). The choice is to buffer or to spool: a multipart upload's
 * parts are at least 5 MiB, so buffering (as lib-storage's Upload does)
 * holds a whole 3–5 MB photo in memory on the event loop for every file in
 * flight. This writer spools to a private file in the pod's temporary
 * folder instead (backpressure is the disk's), then streams the file up:
 * one PUT with its length, or above a size parts read straight from file
 * ranges, several at once. Nothing larger than a stream's chunk is ever
 * held in memory.
 *
 * A finished blob exists in the bucket, complete, before `finish()`
 * resolves (S3's PUT and CompleteMultipartUpload are atomic); an aborted or
 * failed one leaves no object and no unfinished multipart upload.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BlobStoreError, isBlobStoreError, type BlobKind, type BlobWriter, type StagedBlob } from './blob-store.js';
import { blobErrorFrom } from './s3-errors.js';
import { SpoolFile } from './s3-spool.js';
import type { S3StoreSettings } from './s3-settings.js';

/** What a writer needs of its store. */
export interface WriterHost {
  client: S3Client;
  settings: S3StoreSettings;
  /** "bucket "photos" at http://…", for messages. */
  where: string;
  /** Removes one object (a finished blob whose write was then aborted); never throws. */
  discard(objectKey: string): Promise<void>;
}

/**
 * Runs `attempt` again while it fails with a passing fault (the SDK does not retry a request whose body is a stream).
 * Not p-retry: full jitter (0 to the cap, as the SDK's own retries) is not among p-retry's randomisations.
 */
export async function withRetries<T>(attempts: number, signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= attempts || signal.aborted || !isBlobStoreError(err, 'unavailable')) throw err;
      // Exponential backoff with full jitter, as the SDK's own retries: 100 ms, 200 ms, … at most 2 s.
      await sleep(Math.random() * Math.min(2000, 100 * 2 ** (n - 1)), undefined, { signal });
    }
  }
}

export class S3BlobWriter implements BlobWriter {
  readonly stream: SpoolFile;
  private readonly spoolPath: string;
  private readonly objectKey: string;
  private readonly controller = new AbortController();
  private finishing: Promise<StagedBlob> | undefined;
  /** The object exists in the bucket (finish succeeded, no abort since). */
  private stored = false;
  private aborted = false;

  constructor(
    private readonly host: WriterHost,
    private readonly kind: BlobKind,
    private readonly key: string,
  ) {
    this.objectKey = host.settings.prefix + key;
    this.spoolPath = path.join(host.settings.spoolDir, `imgfleet-s3-${randomUUID()}`);
    this.stream = new SpoolFile(this.spoolPath, host.settings.spoolDir);
    // Whoever pipes into the stream sees its errors; this keeps one that
    // comes before they listen (the spool file cannot be opened) from
    // being an uncaught 'error'. finish() reports it.
    this.stream.on('error', () => undefined);
  }

  finish(): Promise<StagedBlob> {
    this.finishing ??= this.upload();
    return this.finishing;
  }

  async abort(reason?: unknown): Promise<void> {
    this.aborted = true;
    this.controller.abort(reason ?? new Error('the write was aborted'));
    this.stream.destroy();
    await this.finishing?.catch(() => undefined);
    await this.dropSpool();
    if (this.stored) {
      this.stored = false;
      await this.host.discard(this.objectKey);
    }
  }

  private async upload(): Promise<StagedBlob> {
    try {
      // Rejects with the spool's own BlobStoreError, or the error the
      // stream was destroyed with (the client went away).
      await finished(this.stream);
      if (this.aborted) throw new Error('the write was aborted');
      const size = this.stream.bytes;
      const { multipartThreshold } = this.host.settings;
      await (size > multipartThreshold ? this.putInParts(size) : this.putWhole(size));
      this.stored = true;
      return { kind: this.kind, key: this.key, size };
    } finally {
      await this.dropSpool();
    }
  }

  private async dropSpool(): Promise<void> {
    // After 'close': a spool file removed before its (lazy) open completes would be made again by it.
    if (!this.stream.closed) await once(this.stream, 'close');
    await rm(this.spoolPath, { force: true });
  }

  private async attempts(): Promise<number> {
    return this.host.client.config.maxAttempts();
  }

  /** One PUT, its body read from the spool file. */
  private async putWhole(size: number): Promise<void> {
    const { client, settings, where } = this.host;
    const signal = this.controller.signal;
    await withRetries(await this.attempts(), signal, async () => {
      const body = createReadStream(this.spoolPath);
      try {
        await client.send(new PutObjectCommand({ Bucket: settings.bucket, Key: this.objectKey, Body: body, ContentLength: size }), { abortSignal: signal });
      } catch (err) {
        throw blobErrorFrom(err, `writing ${this.key}`, where);
      } finally {
        body.destroy();
      }
    });
  }

  /**
   * A multipart upload, `partConcurrency` parts at once, each read from its
   * range of the spool file. On any failure the other parts are stopped
   * and the upload is aborted, so the store keeps none of its parts.
   */
  private async putInParts(size: number): Promise<void> {
    const { client, settings, where } = this.host;
    const what = `writing ${this.key}`;
    const Bucket = settings.bucket;
    const Key = this.objectKey;
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }), { abortSignal: this.controller.signal }).catch((err: unknown) => {
      throw blobErrorFrom(err, what, where);
    });
    const UploadId = created.UploadId;
    if (!UploadId) throw new BlobStoreError('unavailable', `S3 store (${where}): ${what}: the store gave no upload id`);
    const stopParts = new AbortController();
    const signal = AbortSignal.any([this.controller.signal, stopParts.signal]);
    try {
      const parts = await this.sendParts(size, UploadId, signal, stopParts);
      await client
        .send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal })
        .catch((err: unknown) => {
          throw blobErrorFrom(err, what, where);
        });
    } catch (err) {
      // Not on the aborted signal: this must reach the store even after an abort.
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  private async sendParts(size: number, UploadId: string, signal: AbortSignal, stopParts: AbortController): Promise<CompletedPart[]> {
    const { client, settings, where } = this.host;
    const { partSize, partConcurrency } = settings;
    const count = Math.ceil(size / partSize);
    const parts: CompletedPart[] = [];
    const attempts = await this.attempts();
    let next = 0;
    const sendPart = async (index: number): Promise<void> => {
      const start = index * partSize;
      const length = Math.min(partSize, size - start);
      const PartNumber = index + 1;
      const answer = await withRetries(attempts, signal, async () => {
        const body = createReadStream(this.spoolPath, { start, end: start + length - 1 });
        try {
          return await client.send(
            new UploadPartCommand({ Bucket: settings.bucket, Key: this.objectKey, UploadId, PartNumber, Body: body, ContentLength: length }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw blobErrorFrom(err, `writing part ${PartNumber} of ${this.key}`, where);
        } finally {
          body.destroy();
        }
      });
      parts[index] = { PartNumber, ETag: answer.ETag };
    };
    const lane = async (): Promise<void> => {
      while (next < count && !signal.aborted) await sendPart(next++);
    };
    let failure: { cause: unknown } | undefined;
    await Promise.all(
      Array.from({ length: Math.min(partConcurrency, count) }, async () => {
        try {
          await lane();
        } catch (err) {
          // The first failure is the cause; the other lanes' parts in
          // flight are stopped (their own errors only say so).
          failure ??= { cause: err };
          stopParts.abort(err);
        }
      }),
    );
    if (failure) throw failure.cause;
    if (this.controller.signal.aborted) throw new Error('the write was aborted');
    return parts;
  }
}
