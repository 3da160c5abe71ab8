/** JSON errors `{error, code}` with the right status, for every route. */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { isBlobStoreError } from '../blobs/blob-store.js';
import { classifyDatabaseError } from '../db/errors.js';
import type { Logger } from '../logger.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** More fields of the JSON answer (an upload's per-part outcomes). */
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A database fault as the answer a client can act on: retry later (503), or free space (507). */
export function databaseHttpError(err: unknown): HttpError | undefined {
  switch (classifyDatabaseError(err)) {
    case 'unavailable':
      return new HttpError(503, 'DATABASE_UNAVAILABLE', 'the database is not reachable right now; retry in a moment', {}, { 'Retry-After': '2' });
    case 'storage-full':
      return new HttpError(507, 'STORAGE_FULL', 'the database has no storage space left; retry once space has been freed', {}, { 'Retry-After': '30' });
    default:
      return undefined;
  }
}

/** A blob store's fault as the answer a client can act on: free space (507), retry later (503), or gone (404). */
export function blobHttpError(err: unknown): HttpError | undefined {
  if (!isBlobStoreError(err)) return undefined;
  switch (err.fault) {
    case 'full':
      return new HttpError(507, 'STORAGE_FULL', `the photo storage is full; retry once space has been freed (${err.message})`, {}, { 'Retry-After': '30' });
    case 'not-found':
      return new HttpError(404, 'NOT_FOUND', err.message);
    default:
      return new HttpError(
        503,
        'STORAGE_UNAVAILABLE',
        `the photo storage cannot be used right now; retry in a moment (${err.message})`,
        {},
        { 'Retry-After': '5' },
      );
  }
}

/** Any fault of a dependency (database, blob store) as its answer. */
export function dependencyHttpError(err: unknown): HttpError | undefined {
  return databaseHttpError(err) ?? blobHttpError(err);
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

/**
 * An answer given before the whole body arrived (a refused or failed
 * upload): closing at once would make the client, still sending, see a
 * connection reset instead of the answer. So the rest of the body is read
 * and dropped first, within bounds (a client that keeps sending for ever is
 * cut off), and the connection is closed after the answer.
 */
function afterDrainingBody(req: Request, res: Response, answer: () => void, bounds = { bytes: 64 * 1024 * 1024, ms: 5000 }): void {
  if (req.complete || req.destroyed || res.headersSent) {
    answer();
    return;
  }
  res.set('Connection', 'close');
  let read = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', finish);
    answer();
  };
  const onData = (chunk: Buffer) => {
    read += chunk.length;
    if (read > bounds.bytes) finish();
  };
  const timer = setTimeout(finish, bounds.ms);
  req.on('data', onData);
  req.on('end', finish);
  req.on('close', finish);
  req.resume();
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    afterDrainingBody(req, res, () => answerError(logger, err, req, res, next));
  };
}

/**
 * Once the headers are out (a download streaming), no status can be sent
 * any more, and ending the response normally would pass a partial body off
 * as whole. The socket is destroyed instead: a chunked body gets no final
 * chunk, a sized one falls short of its Content-Length, and the client sees
 * a truncated transfer at once rather than a connection that never ends.
 */
function cutResponse(res: Response): void {
  res.destroy();
}

const answerError: (logger: Logger, ...args: Parameters<ErrorRequestHandler>) => void = (logger, err: unknown, req, res) => {
  const known = err instanceof HttpError ? err : dependencyHttpError(err);
  if (res.headersSent) {
    logger.warn({ err, path: req.path, code: known?.code }, 'failed after the answer had started; cutting it short');
    cutResponse(res);
    return;
  }
  if (known) {
    if (known.status >= 500) logger.warn({ err, path: req.path, code: known.code }, 'request failed');
    res
      .status(known.status)
      .set(known.headers)
      .json({ error: known.message, code: known.code, ...known.details });
    return;
  }
  // body-parser style errors carry a status (malformed JSON, too large).
  const status = typeof err === 'object' && err && 'status' in err ? Number(err.status) : 500;
  if (status >= 400 && status < 500) {
    res.status(status).json({ error: err instanceof Error ? err.message : 'bad request', code: 'BAD_REQUEST' });
    return;
  }
  logger.error({ err, path: req.path }, 'unhandled error');
  res.status(500).json({ error: 'internal error', code: 'INTERNAL' });
};

/** Parses a positive integer id from a route parameter, or 404 (an id that cannot exist is simply not found). */
export function parseId(raw: string | undefined): number {
  const id = Number(raw);
  if (!raw || !/^\d+$/.test(raw) || !Number.isSafeInteger(id) || id <= 0) {
    throw new HttpError(404, 'NOT_FOUND', `no image ${JSON.stringify(raw ?? '')}`);
  }
  return id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseBatchId(raw: unknown, status = 400): string {
  if (typeof raw !== 'string' || !UUID.test(raw)) {
    throw new HttpError(status, status === 404 ? 'NOT_FOUND' : 'INVALID_BATCH_ID', 'batch id must be a UUID');
  }
  return raw.toLowerCase();
}

/** Query parameters judged by their contract schema: 400 INVALID_PARAMETER naming each bad one. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || 'query', message: i.message }));
  throw new HttpError(400, 'INVALID_PARAMETER', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
}
