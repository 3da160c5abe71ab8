/**
 * A request whose Idempotency-Key was already answered: its body is read
 * (the client is sending it) but nothing is kept. The first answer is
 * returned only when it is still true:
 * - the files must be the first request's (every byte, and their folders):
 *   otherwise 422 IDEMPOTENCY_KEY_REUSED, a key reused for another upload;
 * - the images it names must still exist: a batch (or photo) deleted since
 *   makes the answer a list of dead ids, so the answer is 410
 *   IDEMPOTENT_UPLOAD_DELETED naming what is gone. Nothing is stored again
 *   (a deleted photo must not come back by a retry); a new key uploads anew.
 */
import type { Request } from 'express';
import { cleanFilename, sourcePathOf } from '../../contract/file-names.js';
import type { StoredAnswer } from '../../queue/ingest.js';
import { HttpError } from '../errors.js';
import type { UploadDeps } from './deps.js';
import type { RequestFingerprint } from './fingerprint.js';
import { malformed, multipartParser } from './session.js';

export interface UploadAnswer {
  status: number;
  /** The JSON text, exactly as first sent. */
  body: string;
  replayed: boolean;
}

/** Reads the body, hashing its parts as the first request did; resolves once it is all read. */
function readFingerprint(req: Request, deps: UploadDeps, fingerprint: RequestFingerprint, signal: AbortSignal): Promise<void> {
  const bb = multipartParser(req, deps);
  return new Promise<void>((resolve, reject) => {
    let position = 0;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      reject(err);
    };
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
    bb.on('file', (field, stream, info) => {
      stream.on('error', () => undefined);
      const at = ++position;
      if (at > deps.maxFiles) {
        stream.resume();
        return;
      }
      const filename = cleanFilename(info.filename, `file-${at}`);
      const part = fingerprint.streamPart(field, sourcePathOf(info.filename, filename) ?? filename, filename);
      let truncated = false;
      let size = 0;
      stream.on('limit', () => {
        truncated = true;
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        part.push(chunk);
      });
      stream.on('end', () => {
        // A browser form with no file chosen sends an empty part without a name (the first request skipped it too).
        if (!info.filename && size === 0) {
          part.skip();
          return;
        }
        part.end(truncated);
      });
    });
    bb.on('field', (name, value) => {
      if (name === 'options') fingerprint.addOptions(value);
    });
    bb.on('error', (err) => fail(malformed(err)));
    bb.on('close', () => {
      if (!failed) resolve();
    });
    req.pipe(bb);
  });
}

/** The image ids a stored answer names. */
function namedIds(body: string): number[] {
  try {
    const parsed = JSON.parse(body) as { images?: { id?: unknown }[] };
    return (parsed.images ?? []).flatMap((i) => (typeof i.id === 'number' ? [i.id] : []));
  } catch {
    return [];
  }
}

export async function replayAnswer(
  req: Request,
  deps: UploadDeps,
  stored: StoredAnswer,
  fingerprint: RequestFingerprint,
  signal: AbortSignal,
): Promise<UploadAnswer> {
  await readFingerprint(req, deps, fingerprint, signal);
  if (!fingerprint.matches(stored.fingerprint)) {
    throw new HttpError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for a different upload; use a new key for new files');
  }
  const ids = namedIds(stored.body);
  if (ids.length > 0) {
    const { rows } = await deps.lookupDb.query<{ id: number }>('SELECT id FROM processed_images WHERE id = ANY($1::bigint[])', [ids]);
    const present = new Set(rows.map((r) => r.id)); // BIGINT arrives as a number: db/pool.ts's type parser
    const deleted = ids.filter((id) => !present.has(id));
    if (deleted.length > 0) {
      throw new HttpError(
        410,
        'IDEMPOTENT_UPLOAD_DELETED',
        `the upload stored under this Idempotency-Key was deleted since (${deleted.length} of its ${ids.length} images); nothing was stored again: send it with a new key to upload it anew`,
        { deleted, remaining: ids.filter((id) => present.has(id)) },
      );
    }
  }
  return { status: stored.statusCode, body: stored.body, replayed: true };
}
