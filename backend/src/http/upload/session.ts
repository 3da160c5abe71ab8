/**
 * Reads one multipart request and stores its files in the request's
 * transaction. Parts arrive one after another; while one is being checked
 * and stored, the next is already being read. A process-wide semaphore
 * bounds how many files are in memory across all uploads: when it is
 * exhausted the part's stream is not read, so busboy stops reading the
 * request (backpressure). Each part gets its own outcome, in part order; a
 * bad file is stored as `failed` with its reason and never affects the others.
 *
 * Every wait and every read listens to one signal, so a request that fails
 * in any way (client gone, malformed body, timeout, database error) lets go
 * of every slot and stream it held.
 */
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { cleanFilename, sourcePathOf } from '../../contract/file-names.js';
import type { IngestTransaction } from '../../queue/ingest.js';
import { HttpError } from '../errors.js';
import { checkFile, type CheckedFile, type ReceivedFile } from './file-check.js';
import { receivePart, type ReceivedPart } from './receive-part.js';
import type { PartHasher, RequestFingerprint } from './fingerprint.js';
import type { RequestOptions } from './request-options.js';
import { UploadOutcomes } from './outcomes.js';
import type { UploadDeps } from './deps.js';

export function multipartParser(req: Request, deps: Pick<UploadDeps, 'rules'>): busboy.Busboy {
  try {
    // No `files` limit: files past MAX_FILES_PER_UPLOAD are skipped here, so each gets its outcome.
    // preservePath: a file from a dropped folder keeps its folders (see sourcePathOf).
    return busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      preservePath: true,
      limits: { fileSize: deps.rules.maxBytes, fields: 100, fieldSize: 64 * 1024 },
    });
  } catch (err) {
    throw new HttpError(400, 'MALFORMED_MULTIPART', err instanceof Error ? err.message : 'malformed multipart body');
  }
}

export function malformed(err: unknown): HttpError {
  return new HttpError(400, 'MALFORMED_MULTIPART', `the upload was malformed or cut short (${err instanceof Error ? err.message : String(err)})`);
}

/** The hasher of a request no Idempotency-Key names. */
const NO_HASHER: PartHasher = { push: () => undefined, end: () => undefined, skip: () => undefined };

export class UploadSession {
  readonly outcomes: UploadOutcomes;
  /** Undefined without an Idempotency-Key: nothing will ever compare the request, so nothing is hashed. */
  readonly fingerprint: RequestFingerprint | undefined;
  private position = 0;
  /** The previous part's write: each part writes after it, in part order. */
  private writes: Promise<void> = Promise.resolve();
  private readonly parts: Promise<void>[] = [];
  private readonly failure = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly tx: IngestTransaction,
    private readonly deps: UploadDeps,
    private readonly batchId: string,
    fingerprint: RequestFingerprint | undefined,
    private readonly options: RequestOptions,
    requestSignal: AbortSignal,
  ) {
    this.outcomes = new UploadOutcomes(deps.maxFiles);
    this.fingerprint = fingerprint;
    this.signal = AbortSignal.any([requestSignal, this.failure.signal]);
  }

  /** Resolves once every part is stored in the transaction (not yet committed); rejects with the first failure. */
  run(req: Request): Promise<void> {
    const bb = multipartParser(req, this.deps);
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        this.failure.abort(err);
        req.unpipe(bb);
        reject(err);
      };
      const onAbort = () => fail(this.signal.reason);
      this.signal.addEventListener('abort', onAbort, { once: true });
      bb.on('file', (field, stream, info) => {
        // Always listened to: a body cut short errors the part's stream even while it waits for a slot.
        stream.on('error', () => undefined);
        if (failed) {
          stream.resume();
          return;
        }
        const position = ++this.position;
        try {
          this.options.options();
        } catch (err) {
          stream.resume();
          fail(err);
          return;
        }
        if (position > this.deps.maxFiles) {
          this.outcomes.skipped(cleanFilename(info.filename, `file-${position}`));
          stream.resume();
          return;
        }
        // Listed from its first byte on: a request that fails while it is read still names it.
        if (info.filename) this.outcomes.saw(position, cleanFilename(info.filename, `file-${position}`));
        const part = this.storePart(field, stream, info.filename, position);
        part.catch(fail);
        this.parts.push(part);
      });
      bb.on('field', (name, value) => {
        if (name !== 'options' || failed) return;
        try {
          this.fingerprint?.addOptions(value);
          this.options.field(value);
        } catch (err) {
          fail(err);
        }
      });
      bb.on('error', (err) => fail(malformed(err)));
      bb.on('close', () => {
        Promise.all(this.parts).then(() => {
          this.signal.removeEventListener('abort', onAbort);
          if (failed) return;
          if (this.outcomes.count === 0 && this.outcomes.notReadCount === 0) {
            fail(new HttpError(400, 'NO_FILES', 'no files in the upload (send them as multipart parts named "images")'));
            return;
          }
          resolve();
        }, fail);
      });
      req.pipe(bb);
    });
  }

  private async storePart(field: string, stream: Readable, rawName: string | undefined, position: number): Promise<void> {
    const filename = cleanFilename(rawName, `file-${position}`);
    // Its place in the fingerprint is taken now, in part order (parts may end out of order).
    const hasher = this.fingerprint?.streamPart(field, sourcePathOf(rawName, filename) ?? filename, filename) ?? NO_HASHER;
    // Its turn to write is taken now, in part order (checks may finish out of order; ids must not).
    const turn = this.writes;
    const { promise: myTurn, resolve: myTurnDone } = Promise.withResolvers<undefined>();
    this.writes = myTurn;
    try {
      const release = await this.deps.memorySlots.acquire(this.signal);
      try {
        const file = await this.receive(field, stream, rawName, filename, position, hasher);
        if (!file) return;
        const meta = { batchId: this.batchId, filename, sourcePath: sourcePathOf(rawName, filename), options: this.options.options() };
        const checked = await checkFile(file, meta, this.deps.rules, this.deps.memoryBudgetBytes);
        // A refused file keeps nothing of its bytes.
        if (!checked.ok && file.original) await this.deps.blobs.discard(file.original);
        // Written one after another on the transaction's connection.
        await turn;
        await this.write(checked, position, filename, file.size).catch(async (err: unknown) => {
          // Not named by any row: the transaction rolls back, or this file never reached it.
          if (checked.ok) await this.deps.blobs.discard(checked.image.original).catch(() => undefined);
          throw err;
        });
      } finally {
        release();
      }
    } finally {
      myTurnDone(undefined);
    }
  }

  /**
   * The part streamed into the blob store, durable (or given up when it was
   * over the size limit); undefined for the empty part a browser form sends
   * when no file was chosen.
   */
  private async receive(
    field: string,
    stream: Readable,
    rawName: string | undefined,
    filename: string,
    position: number,
    hasher: PartHasher,
  ): Promise<ReceivedFile | undefined> {
    const writer = this.deps.blobs.create('original');
    let part: ReceivedPart;
    try {
      part = await receivePart(stream, writer, this.signal, (chunk) => hasher.push(chunk));
    } catch (err) {
      await writer.abort(err);
      throw this.signal.aborted ? this.signal.reason : err;
    }
    if (!rawName && part.size === 0 && !part.truncated) {
      hasher.skip();
      await writer.abort();
      return undefined;
    }
    if (!rawName) this.outcomes.saw(position, filename);
    // As a replay hashes it: a file over the size limit counts as nothing.
    hasher.end(part.truncated);
    if (part.truncated) {
      await writer.abort();
      return { ...part, original: undefined, whole: () => Promise.resolve(part.head) };
    }
    const original = await writer.finish();
    const blobs = this.deps.blobs;
    const whole = () => (original.data ? Promise.resolve(original.data) : blobs.read({ imageId: 0, kind: 'original', key: original.key }));
    return { ...part, original, whole };
  }

  private async write(checked: CheckedFile, position: number, filename: string, size: number): Promise<void> {
    if (this.signal.aborted) throw this.signal.reason;
    if (!checked.ok) {
      const { code, error, contentType } = checked;
      const rejected = { batchId: this.batchId, filename, contentType, error, errorCode: code, options: this.options.options(), sourcePath: null };
      const id = await this.tx.reject(rejected);
      this.outcomes.storedAs(position, { id, filename, status: 'failed', error, code });
      this.deps.onFile?.(size, false);
      return;
    }
    const { id, status } = await this.tx.enqueue(checked.image);
    this.outcomes.storedAs(position, { id, filename, status });
    this.deps.onFile?.(size, true);
  }
}
