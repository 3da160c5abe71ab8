/**
 * Streamed multipart upload. Parts arrive one after another; while one is
 * being checked and stored, the next is already being read (storing a 4 MB
 * image costs Postgres ~20 ms, as long as reading it). A process-wide
 * semaphore bounds how many files are in memory across all uploads: when it
 * is exhausted the part's stream is not read, so busboy stops reading the
 * request (backpressure). Each part gets its own outcome, in part order; a
 * bad file is stored as `failed` with its reason and never affects the others.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { CONTENT_TYPES, detectFormat, isImageError, readHeader, type ResizeRules } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { ImageRepository, NewImage } from '../queue/repository.js';
import type { Semaphore } from '../util/semaphore.js';
import type { UploadFileResult, UploadResponse } from './contract.js';
import { HttpError } from './errors.js';

export interface UploadDeps {
  repo: ImageRepository;
  /** When given, images go straight to a free local thread (see Dispatcher.reserveLocal). */
  dispatcher?: Dispatcher;
  rules: ResizeRules;
  maxFiles: number;
  memorySlots: Semaphore;
  logger: Logger;
  onFile?: (bytes: number, accepted: boolean) => void;
}

const MiB = 1024 * 1024;

/** A display name: the last path segment, no control characters, bounded length. */
export function cleanFilename(raw: string | undefined, fallback: string): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return cleaned || fallback;
}

/**
 * Reads a part into one buffer of its own (exactly its size, so it can be
 * transferred to a worker thread as it is). busboy hands out many small
 * chunks; they are gathered in 1 MiB blocks, then copied once into place.
 */
async function collect(stream: Readable): Promise<{ bytes: Buffer; truncated: boolean }> {
  const BLOCK = 1024 * 1024;
  const blocks: Buffer[] = [];
  let block = Buffer.allocUnsafe(BLOCK);
  let used = 0;
  let total = 0;
  let truncated = false;
  stream.on('limit', () => {
    truncated = true;
  });
  for await (const data of stream) {
    // Past the limit, keep draining (so the next part can be read) but keep nothing.
    if (truncated) continue;
    let chunk = data as Buffer;
    total += chunk.length;
    while (chunk.length > 0) {
      const n = chunk.copy(block, used);
      used += n;
      chunk = chunk.subarray(n);
      if (used === BLOCK) {
        blocks.push(block);
        block = Buffer.allocUnsafe(BLOCK);
        used = 0;
      }
    }
  }
  if (truncated) return { bytes: Buffer.alloc(0), truncated };
  const bytes = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (const b of blocks) offset += b.copy(bytes, offset);
  block.copy(bytes, offset, 0, used);
  return { bytes, truncated };
}

export function handleUpload(req: Request, deps: UploadDeps, batchId: string = randomUUID()): Promise<UploadResponse> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(new HttpError(415, 'NOT_MULTIPART', 'send the images as multipart/form-data'));
  }
  const { repo, rules, logger } = deps;
  const results: (UploadFileResult & { position: number })[] = [];
  let filesLimitHit = false;
  let index = 0;

  type Checked =
    | { ok: true; image: NewImage }
    | { ok: false; code: string; error: string; contentType: string | null };

  /** Everything about a file that needs no database: size, type, header. */
  const check = async (bytes: Buffer, truncated: boolean, filename: string): Promise<Checked> => {
    if (truncated) {
      return {
        ok: false,
        code: 'FILE_TOO_LARGE',
        error: `the file is larger than the limit of ${(rules.maxBytes / MiB).toFixed(1)} MiB`,
        contentType: null,
      };
    }
    try {
      const header = await readHeader(bytes, rules);
      return {
        ok: true,
        image: {
          batchId,
          filename,
          contentType: CONTENT_TYPES[header.format],
          data: bytes,
          width: header.oriented.width,
          height: header.oriented.height,
        },
      };
    } catch (err) {
      if (!isImageError(err)) throw err;
      const format = detectFormat(bytes);
      return { ok: false, code: err.code, error: err.message, contentType: format ? CONTENT_TYPES[format] : null };
    }
  };

  /**
   * Reads, checks and stores one part. Its id is taken once `turn` (the
   * previous part's id) is taken, so ids follow the parts' order; the
   * inserts themselves then run in parallel (a 4 MB insert is Postgres work
   * that need not wait for the previous one).
   */
  const storeFile = async (stream: Readable, rawName: string | undefined, position: number, turn: Promise<void>, idTaken: () => void): Promise<void> => {
    const filename = cleanFilename(rawName, `file-${position}`);
    const release = await deps.memorySlots.acquire();
    try {
      const { bytes, truncated } = await collect(stream);
      // A browser form with no file chosen sends an empty part without a name.
      if (!rawName && bytes.length === 0 && !truncated) return;
      const checked = await check(bytes, truncated, filename);
      await turn;
      const id = await repo.nextId().finally(idTaken);
      const size = bytes.length;
      if (!checked.ok) {
        const { code, error, contentType } = checked;
        await repo.insertRejected({ id, batchId, filename, contentType, error, errorCode: code });
        results.push({ position, id, filename, status: 'failed', error, code });
        deps.onFile?.(size, false);
        return;
      }
      const local = deps.dispatcher?.reserveLocal();
      try {
        const image = { ...checked.image, id };
        await (local
          ? repo.insertClaimed(image, deps.dispatcher!.workerId, deps.dispatcher!.leaseSeconds)
          : repo.insertPending(image));
      } catch (err) {
        local?.cancel();
        throw err;
      }
      // The bytes are transferred to a worker thread from here on: not ours to read any more.
      local?.run(id, bytes);
      results.push({ position, id, filename, status: local ? 'processing' : 'pending' });
      deps.onFile?.(size, true);
    } finally {
      release();
    }
  };

  return new Promise<UploadResponse>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { fileSize: rules.maxBytes, files: deps.maxFiles, fields: 100, fieldSize: 64 * 1024 },
      });
    } catch (err) {
      reject(new HttpError(400, 'MALFORMED_MULTIPART', err instanceof Error ? err.message : 'malformed multipart body'));
      return;
    }
    const stores: Promise<void>[] = [];
    let previousId: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      reject(err);
    };
    bb.on('file', (_field, stream, info) => {
      let idTaken!: () => void;
      const turn = previousId;
      previousId = new Promise((resolve) => {
        idTaken = resolve;
      });
      const store = storeFile(stream, info.filename, ++index, turn, idTaken).finally(idTaken);
      store.catch(fail);
      stores.push(store);
    });
    bb.on('filesLimit', () => {
      filesLimitHit = true;
    });
    bb.on('error', (err) =>
      fail(new HttpError(400, 'MALFORMED_MULTIPART', `the upload was malformed or cut short (${err instanceof Error ? err.message : String(err)})`)),
    );
    bb.on('close', () => {
      Promise.all(stores).then(() => {
        if (failed) return;
        if (results.length === 0) {
          reject(new HttpError(400, 'NO_FILES', 'no files in the upload (send them as multipart parts named "images")'));
          return;
        }
        const accepted = results.filter((r) => r.status !== 'failed').length;
        const rejected = results.length - accepted;
        let message = `${accepted} image(s) queued for processing`;
        if (rejected) message += `, ${rejected} rejected`;
        if (filesLimitHit) message += `; only the first ${deps.maxFiles} files of the request were read`;
        logger.info({ batchId, accepted, rejected }, 'upload received');
        const images = results.sort((a, b) => a.position - b.position).map(({ position: _, ...r }) => r);
        resolve({ message, batchId, accepted, rejected, images });
      }, fail);
    });
    req.pipe(bb);
  });
}
