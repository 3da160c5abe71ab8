/**
 * A request whose Idempotency-Key was already answered: its body is read
 * (the client is sending it) but nothing is kept; its files' fingerprint
 * must match the first request's, and then the first answer is returned.
 */
import type { Request } from 'express';
import type { StoredAnswer } from '../../queue/ingest.js';
import { HttpError } from '../errors.js';
import type { UploadDeps } from './deps.js';
import { StreamEdges, type RequestFingerprint } from './fingerprint.js';
import { cleanFilename } from '../../contract/file-names.js';
import { malformed, multipartParser } from './session.js';

export interface UploadAnswer {
  status: number;
  /** The JSON text, exactly as first sent. */
  body: string;
  replayed: boolean;
}

export function replayAnswer(req: Request, deps: UploadDeps, stored: StoredAnswer, fingerprint: RequestFingerprint, signal: AbortSignal): Promise<UploadAnswer> {
  const bb = multipartParser(req, deps);
  return new Promise<UploadAnswer>((resolve, reject) => {
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
      const edges = new StreamEdges();
      let truncated = false;
      stream.on('limit', () => {
        truncated = true;
      });
      stream.on('data', (chunk: Buffer) => edges.push(chunk));
      stream.on('end', () => {
        if (!info.filename && edges.size === 0) return;
        const filename = cleanFilename(info.filename, `file-${at}`);
        // As the first request hashed it: a file over the size limit was kept as nothing.
        if (truncated) fingerprint.addPart(field, filename, Buffer.alloc(0));
        else fingerprint.addPart(field, filename, edges.size, edges.edges());
      });
    });
    bb.on('field', (name, value) => {
      if (name === 'options') fingerprint.addOptions(value);
    });
    bb.on('error', (err) => fail(malformed(err)));
    bb.on('close', () => {
      if (failed) return;
      if (fingerprint.digest() !== stored.fingerprint) {
        fail(
          new HttpError(
            422,
            'IDEMPOTENCY_KEY_REUSED',
            'this Idempotency-Key was already used for a different upload; use a new key for new files',
          ),
        );
        return;
      }
      resolve({ status: stored.statusCode, body: stored.body, replayed: true });
    });
    req.pipe(bb);
  });
}
