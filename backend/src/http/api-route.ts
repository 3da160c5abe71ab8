/**
 * One declaration per /api/v1 route: method, path, path parameters, query,
 * body, responses and handler. The same declaration registers the route on
 * Express (mountRoutes) and describes it in the OpenAPI document
 * (openapi.ts), so the two cannot drift; with `validateResponses` on (the
 * tests turn it on for every backend they start) each JSON answer is
 * checked against the schema declared for its status, fastify's way.
 */
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import { apiErrorSchema } from '../contract/api.js';
import { HttpError, parseBatchId, parseId, parseQuery } from './errors.js';

export type Method = 'get' | 'post' | 'delete';

/** A path parameter: how it is documented, and how a raw value becomes the handler's (or the API's error). */
export interface PathParam<T> {
  /** JSON Schema of the parameter, for the document. */
  readonly schema: Readonly<Record<string, unknown>>;
  parse(raw: string | undefined): T;
}

/** `:id`: an image id; one that cannot exist is simply not found. */
export const imageIdParam: PathParam<number> = { schema: { type: 'integer', minimum: 1 }, parse: parseId };
/** `:batchId`: a batch's UUID; anything else names no batch (404). */
export const batchIdParam: PathParam<string> = { schema: { type: 'string', format: 'uuid' }, parse: (raw) => parseBatchId(raw, 404) };

/** Status → body: a schema for JSON, a media type for bytes and streams, undefined for no body. */
export type Responses = Readonly<Record<number, z.ZodType | string | undefined>>;

type ParamSpecs<P> = { readonly [K in keyof P]: PathParam<P[K]> };

export interface RouteInput<P, Q> {
  params: P;
  query: Q;
}

export interface ApiRoute<D, P = Record<string, never>, Q = Record<string, never>> {
  readonly method: Method;
  /** Express form, under /api/v1: `/images/:id`. */
  readonly path: string;
  readonly summary: string;
  readonly params?: ParamSpecs<P>;
  /** The query, parsed before the handler runs: a bad parameter is a 400 naming it. */
  readonly query?: z.ZodType<Q>;
  /** The code of that 400 (INVALID_PARAMETER unless a route's clients know another). */
  readonly invalidQueryCode?: string;
  /** The body: a multipart upload of images (the only request body /api/v1 takes). */
  readonly body?: 'images';
  readonly responses: Responses;
  readonly handle: (deps: D, req: Request, res: Response, input: RouteInput<P, Q>) => void | Promise<void>;
}

/** A route with its types erased, as lists hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a heterogeneous list; each entry was checked by defineRoute
export type AnyRoute<D> = ApiRoute<D, any, any>;

/** Declares a route; the identity, there for the inference of P and Q from `params` and `query`. */
export function defineRoute<D, P = Record<string, never>, Q = Record<string, never>>(route: ApiRoute<D, P, Q>): ApiRoute<D, P, Q> {
  return route;
}

/**
 * Answers any route may give besides its own: a token is needed (401), the
 * browser guard (403), a dependency down or full (503, 507), a fault (500).
 */
export const COMMON_ERRORS: Readonly<Record<number, string>> = {
  401: 'a token is needed',
  403: 'HOST_NOT_ALLOWED or CROSS_SITE_REQUEST',
  500: 'INTERNAL: a fault of the server',
  503: 'the database or the photo storage is unreachable; retry after Retry-After',
  507: 'the database or the photo storage is full',
};

function parseParams(specs: Readonly<Record<string, PathParam<unknown>>> | undefined, raw: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs ?? {})) out[name] = spec.parse(raw[name]);
  return out;
}

function parseQueryOf(route: AnyRoute<unknown>, raw: unknown): unknown {
  if (!route.query) return {};
  try {
    return parseQuery(route.query, raw);
  } catch (err) {
    if (err instanceof HttpError && route.invalidQueryCode) throw new HttpError(err.status, route.invalidQueryCode, err.message, err.details);
    throw err;
  }
}

/** What a JSON answer lacks to match its declaration, or undefined when it matches. */
export function responseViolation(route: AnyRoute<unknown>, status: number, body: unknown): string | undefined {
  const declared = route.responses[status];
  if (declared === undefined && status in COMMON_ERRORS) {
    const parsed = apiErrorSchema.safeParse(body);
    return parsed.success ? undefined : `error body: ${parsed.error.message}`;
  }
  if (declared === undefined || typeof declared === 'string') return `${status} is not a JSON answer of this route`;
  const parsed = declared.safeParse(body);
  return parsed.success ? undefined : parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/**
 * Checks every JSON answer of this response against the route's
 * declaration. A mismatch is a bug of the server: it is logged and answered
 * 500 RESPONSE_INVALID instead, so a test that meets it fails at once.
 */
function validateJson(route: AnyRoute<unknown>, res: Response, logger: Logger | undefined): void {
  const send = res.json.bind(res);
  const check = (body: unknown): string | undefined => {
    const problem = responseViolation(route, res.statusCode, body);
    if (problem === undefined) return undefined;
    const where = `${route.method.toUpperCase()} /api/v1${route.path} ${res.statusCode}`;
    logger?.error({ route: where, problem }, 'an answer does not match its declared schema');
    return `${where}: the answer does not match its declared schema: ${problem}`;
  };
  (res.locals as Locals)[CHECK] = check;
  res.json = (body: unknown) => {
    const problem = check(body);
    if (problem === undefined) return send(body);
    res.status(500);
    return send({ error: problem, code: 'RESPONSE_INVALID' });
  };
}

const CHECK = Symbol('check a JSON answer');
type Locals = Record<symbol, ((body: unknown) => string | undefined) | undefined>;

/**
 * A JSON answer serialized by the route itself (the metrics keep floats'
 * decimal points), checked like res.json's when validation is on.
 */
export function sendSerializedJson(res: Response, body: unknown, serialize: (body: unknown) => string): void {
  const problem = (res.locals as Locals)[CHECK]?.(body);
  if (problem !== undefined) {
    res.status(500).json({ error: problem, code: 'RESPONSE_INVALID' });
    return;
  }
  res.type('application/json').send(serialize(body));
}

export interface MountOptions {
  validateResponses?: boolean;
  logger?: Logger;
}

/** Registers the routes on a router (mounted under /api/v1), each handler given `deps` and its parsed input. */
export function mountRoutes<D>(router: Router, routes: readonly AnyRoute<D>[], deps: D, options: MountOptions = {}): Router {
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response) => {
      if (options.validateResponses) validateJson(route as AnyRoute<unknown>, res, options.logger);
      const input: RouteInput<unknown, unknown> = {
        params: parseParams(route.params as Readonly<Record<string, PathParam<unknown>>> | undefined, req.params as Record<string, string | undefined>),
        query: parseQueryOf(route as AnyRoute<unknown>, req.query),
      };
      await route.handle(deps, req, res, input);
    });
  }
  return router;
}

/** A new router with these routes. */
export function routerOf<D>(routes: readonly AnyRoute<D>[], deps: D, options: MountOptions = {}): Router {
  return mountRoutes(Router(), routes, deps, options);
}
