/**
 * The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.
 * Generated from the routes' own declarations (api-route.ts: path, params,
 * query, body, responses) and the contract's schemas (z.toJSONSchema), so
 * the document cannot list a route, a parameter or an answer the code does
 * not have.
 */
import { z } from 'zod';
import { apiErrorSchema, outputOptionsInputSchema } from '../contract/api.js';
import { COMMON_ERRORS, type AnyRoute } from './api-route.js';
import { BATCH_ROUTES } from './routes/batches.js';
import { IMAGE_ROUTES } from './routes/images.js';
import { METRICS_ROUTES } from './routes/metrics.js';

/** Every /api/v1 route the backend serves, as declared beside its handler. */
export const API_ROUTES: readonly AnyRoute<never>[] = [...IMAGE_ROUTES, ...BATCH_ROUTES, ...METRICS_ROUTES];

const toSchema = (schema: z.ZodType, io: 'input' | 'output' = 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io, reused: 'ref' });

function parameters(route: AnyRoute<never>): object[] {
  const path = Object.entries(route.params ?? {}).map(([name, param]) => ({ name, in: 'path', required: true, schema: param.schema }));
  const query = route.query
    ? Object.entries(toSchema(route.query, 'input').properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
    : [];
  return [...path, ...query];
}

function responses(route: AnyRoute<never>): Record<string, object> {
  return Object.fromEntries(
    Object.entries(route.responses).map(([status, body]) => {
      if (body === undefined) return [status, { description: 'no content' }];
      if (typeof body === 'string') return [status, { description: body, content: { [body]: {} } }];
      return [status, { description: status.startsWith('2') ? 'ok' : 'error', content: { 'application/json': { schema: toSchema(body) } } }];
    }),
  );
}

/** The answers every route may give (a token, the browser guard, a dependency down or full, a fault). */
function commonErrors(): Record<string, object> {
  return Object.fromEntries(
    Object.entries(COMMON_ERRORS).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: toSchema(apiErrorSchema) } } },
    ]),
  );
}

function uploadBody(): object {
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          properties: {
            options: { ...toSchema(outputOptionsInputSchema, 'input'), description: 'JSON text, sent before the files' },
            images: { type: 'array', items: { type: 'string', format: 'binary' } },
          },
        },
      },
    },
  };
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'imgfleet API',
    version: '1.0.0',
    description:
      "Batch photo resizing: upload JPEG/PNG/WebP images; each is resized by the batch's output options (default: inside 800x600, never enlarged, JPEG 85) by a pool of workers spread over the cluster. Uploads take an Idempotency-Key. With API_TOKEN set, every route needs `Authorization: Bearer <token>` (event streams and downloads also accept `?access_token=`).",
  },
  servers: [{ url: '/api/v1' }],
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{ bearer: [] }],
  paths: API_ROUTES.reduce<Record<string, Record<string, object>>>((paths, route) => {
    const key = route.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    paths[key] ??= {};
    paths[key][route.method] = {
      summary: route.summary,
      parameters: parameters(route),
      ...(route.body === 'images' ? { requestBody: uploadBody() } : {}),
      responses: {
        ...commonErrors(),
        ...responses(route),
      },
    };
    return paths;
  }, {}),
};
