/**
 * Streamed multipart upload. Parts are read one at a time: while a file is
 * being checked and stored, busboy stops reading the request (backpressure),
 * and a process-wide semaphore bounds how many files are in memory across
 * all concurrent uploads. Each part gets its own outcome; a bad file is
 * stored as `failed` with its reason and never affects the others.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { CONTENT_TYPES, detectFormat, isImageError, readHeader, type ResizeRules } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import type { ImageRepository } from '../queue/repository.js';
import type { Semaphore } from '../util/semaphore.js';
import type { UploadFileResult, UploadResponse } from './contract.js';
import { HttpError } from './errors.js';

export interface UploadDeps {
  repo: ImageRepository;
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

async function collect(stream: Readable): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let truncated = false;
  stream.on('limit', () => {
    truncated = true;
  });
  for await (const chunk of stream) {
    // Past the limit, keep draining (so the next part can be read) but keep nothing.
    if (!truncated) chunks.push(chunk as Buffer);
  }
  return { bytes: truncated ? Buffer.alloc(0) : Buffer.concat(chunks), truncated };
}

export function handleUpload(req: Request, deps: UploadDeps, batchId: string = randomUUID()): Promise<UploadResponse> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(new HttpError(415, 'NOT_MULTIPART', 'send the images as multipart/form-data'));
  }
  const { repo, rules, logger } = deps;
  const results: UploadFileResult[] = [];
  let filesLimitHit = false;
  let index = 0;

  const storeFile = async (stream: Readable, rawName: string | undefined): Promise<void> => {
    const position = ++index;
    const filename = cleanFilename(rawName, `file-${position}`);
    const release = await deps.memorySlots.acquire();
    try {
      const { bytes, truncated } = await collect(stream);
      // A browser form with no file chosen sends an empty part without a name.
      if (!rawName && bytes.length === 0 && !truncated) return;
      const reject = async (code: string, error: string, contentType: string | null) => {
        const id = await repo.insertRejected({ batchId, filename, contentType, error, errorCode: code });
        results.push({ id, filename, status: 'failed', error, code });
        deps.onFile?.(bytes.length, false);
      };
      if (truncated) {
        await reject(
          'FILE_TOO_LARGE',
          `the file is larger than the limit of ${(rules.maxBytes / MiB).toFixed(1)} MiB`,
          null,
        );
        return;
      }
      try {
        const header = await readHeader(bytes, rules);
        const id = await repo.insertPending({
          batchId,
          filename,
          contentType: CONTENT_TYPES[header.format],
          data: bytes,
          width: header.oriented.width,
          height: header.oriented.height,
        });
        results.push({ id, filename, status: 'pending' });
        deps.onFile?.(bytes.length, true);
      } catch (err) {
        if (!isImageError(err)) throw err;
        const format = detectFormat(bytes);
        await reject(err.code, err.message, format ? CONTENT_TYPES[format] : null);
      }
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
    // Parts are stored strictly in order; each waits for the previous one.
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      reject(err);
    };
    bb.on('file', (_field, stream, info) => {
      chain = chain.then(() => storeFile(stream, info.filename));
      chain.catch(fail);
    });
    bb.on('filesLimit', () => {
      filesLimitHit = true;
    });
    bb.on('error', (err) =>
      fail(new HttpError(400, 'MALFORMED_MULTIPART', `the upload was malformed or cut short (${err instanceof Error ? err.message : String(err)})`)),
    );
    bb.on('close', () => {
      chain.then(() => {
        if (failed) return;
        if (results.length === 0) {
          reject(new HttpError(400, 'NO_FILES', 'no files in the upload (send them as multipart parts named "images")'));
          return;
        }
        const accepted = results.filter((r) => r.status === 'pending').length;
        const rejected = results.length - accepted;
        let message = `${accepted} image(s) queued for processing`;
        if (rejected) message += `, ${rejected} rejected`;
        if (filesLimitHit) message += `; only the first ${deps.maxFiles} files of the request were read`;
        logger.info({ batchId, accepted, rejected }, 'upload received');
        resolve({ message, batchId, accepted, rejected, images: results });
      }, fail);
    });
    req.pipe(bb);
  });
}
