/** JSON errors `{error, code}` with the right status, for every route. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof HttpError) {
      if (!res.headersSent) res.status(err.status).json({ error: err.message, code: err.code });
      return;
    }
    // body-parser style errors carry a status (malformed JSON, too large).
    const status = typeof err === 'object' && err && 'status' in err ? Number((err as { status: unknown }).status) : 500;
    if (status >= 400 && status < 500) {
      if (!res.headersSent) {
        res.status(status).json({ error: err instanceof Error ? err.message : 'bad request', code: 'BAD_REQUEST' });
      }
      return;
    }
    logger.error({ err, path: req.path }, 'unhandled error');
    if (!res.headersSent) res.status(500).json({ error: 'internal error', code: 'INTERNAL' });
    else res.end();
  };
}

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
