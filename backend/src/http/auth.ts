/**
 * Optional bearer-token auth (API_TOKEN). Health checks stay open for the
 * kubelet.
 *
 * `?access_token=` is taken only by GET routes a browser reaches without
 * being able to set a header: event streams (EventSource), download links
 * and the ZIP (a plain `<a download>`), and the status page. Anywhere else a
 * token in the URL is refused: URLs end up in logs, history and Referer
 * headers, and a state change must never ride on a link someone was sent.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from './errors.js';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

const QUERY_TOKEN_ROUTES: readonly RegExp[] = [
  /^\/api\/v1\/events$/,
  /^\/api\/v1\/metrics\/stream$/,
  /^\/api\/v1\/batches\/[^/]+\/zip$/,
  /^\/api\/v1\/images\/\d+\/(processed|original)$/,
  /^\/download\/\d+$/,
  /^\/status\/\d+$/,
];

/** Whether `req` may carry the token as `?access_token=` (see the module comment). */
export function acceptsQueryToken(req: Pick<Request, 'method' | 'path'>): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && QUERY_TOKEN_ROUTES.some((re) => re.test(req.path));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Set by `bearerAuth` on a request that passed it (always, when no token is configured). */
export function isAuthenticated(res: Response): boolean {
  return res.locals.authenticated === true;
}

export function unauthorized(tokenGiven: boolean): HttpError {
  return new HttpError(401, 'UNAUTHORIZED', tokenGiven ? 'invalid API token' : 'this server needs an API token: Authorization: Bearer <token>');
}

export function bearerAuth(token: string | undefined, isPublic: (req: Request) => boolean = () => false): RequestHandler {
  if (!token) {
    return (_req, res, next) => {
      res.locals.authenticated = true;
      next();
    };
  }
  const expected = digest(token);
  return (req, res, next) => {
    if (OPEN_PATHS.has(req.path) || isPublic(req)) {
      next();
      return;
    }
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    const queryToken = typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
    if (!match && queryToken !== undefined && !acceptsQueryToken(req)) {
      next(
        new HttpError(
          401,
          'UNAUTHORIZED',
          `${req.method} ${req.path} does not take ?access_token= (only event streams and download links do): send Authorization: Bearer <token>`,
        ),
      );
      return;
    }
    const given = match?.[1] ?? queryToken;
    // Compare digests: constant time, and lengths never leak.
    if (given && timingSafeEqual(digest(given), expected)) {
      res.locals.authenticated = true;
      next();
      return;
    }
    next(unauthorized(Boolean(given)));
  };
}
