/**
 * Optional bearer-token auth (API_TOKEN). Health checks stay open for the
 * kubelet. EventSource cannot set headers, so SSE routes also accept
 * `?access_token=`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors.js';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function bearerAuth(token: string | undefined, isPublic: (req: Request) => boolean = () => false): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req, _res, next) => {
    if (OPEN_PATHS.has(req.path) || isPublic(req)) return next();
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    const queryToken = typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
    const given = match?.[1] ?? queryToken;
    // Compare digests: constant time, and lengths never leak.
    if (given && timingSafeEqual(digest(given), expected)) return next();
    next(new HttpError(401, 'UNAUTHORIZED', given ? 'invalid API token' : 'this server needs an API token: Authorization: Bearer <token>'));
  };
}
