/**
 * The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.
 * Generated: every schema comes from contract/api.ts (z.toJSONSchema), and
 * this file only says which route takes and answers which. A test holds the
 * route list equal to the Express app's, so neither can drift.
 */
import { z } from 'zod';
import {
  apiErrorSchema,
  batchDeletionSchema,
  batchListQuerySchema,
  batchListResponseSchema,
  batchSummarySchema,
  imageListQuerySchema,
  imageListResponseSchema,
  imageSummarySchema,
  outputOptionsInputSchema,
  serverConfigSchema,
  statsSchema,
  uploadResponseSchema,
} from '../contract/api.js';

type Method = 'get' | 'post' | 'delete';

export interface ApiRoute {
  method: Method;
  /** Express form, under /api/v1: `/images/:id`. */
  path: string;
  summary: string;
  /** Status → body schema (undefined: no JSON body), or a media type for bytes and streams. */
  responses: Record<number, z.ZodType | string | undefined>;
  query?: z.ZodObject;
  upload?: boolean;
}

const BYTES = 'image/*';

/** Every /api/v1 route the backend serves. */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'post', path: '/images', summary: 'Upload images (multipart, field "images"; optional field "options" first, or option query parameters)', upload: true, responses: { 202: uploadResponseSchema, 400: apiErrorSchema, 408: apiErrorSchema, 409: apiErrorSchema, 410: apiErrorSchema, 415: apiErrorSchema, 422: apiErrorSchema, 503: apiErrorSchema, 507: apiErrorSchema } },
  { method: 'get', path: '/images', summary: 'List images, by batch and status, paged', query: imageListQuerySchema, responses: { 200: imageListResponseSchema, 400: apiErrorSchema } },
  { method: 'get', path: '/images/:id', summary: "One image's metadata", responses: { 200: imageSummarySchema, 404: apiErrorSchema } },
  { method: 'delete', path: '/images/:id', summary: 'Delete an image', responses: { 204: undefined, 404: apiErrorSchema } },
  { method: 'get', path: '/images/:id/original', summary: 'The original bytes (?download for an attachment; one Range is served as 206)', responses: { 200: BYTES, 206: BYTES, 404: apiErrorSchema, 410: apiErrorSchema, 416: undefined } },
  { method: 'get', path: '/images/:id/processed', summary: 'The result bytes, in the batch\'s format (?download for an attachment named by its template; one Range is served as 206)', responses: { 200: BYTES, 206: BYTES, 404: apiErrorSchema, 409: apiErrorSchema, 416: undefined } },
  { method: 'post', path: '/images/:id/retry', summary: 'Retry a failed image', responses: { 202: imageSummarySchema, 404: apiErrorSchema, 409: apiErrorSchema } },
  { method: 'get', path: '/batches', summary: 'Batches, the latest upload first, paged: counts by status and the bytes of the results against their originals (with API_TOKEN set: those the token may see, every batch while there is one token)', query: batchListQuerySchema, responses: { 200: batchListResponseSchema, 400: apiErrorSchema } },
  { method: 'get', path: '/batches/:batchId', summary: "A batch's counts", responses: { 200: batchSummarySchema, 404: apiErrorSchema } },
  { method: 'delete', path: '/batches/:batchId', summary: 'Delete a batch, every image of it (queued and processing ones too)', responses: { 200: batchDeletionSchema, 404: apiErrorSchema } },
  { method: 'get', path: '/batches/:batchId/zip', summary: "The batch's results as one streamed ZIP (?ids=1,2 for some), named by its template", responses: { 200: 'application/zip', 404: apiErrorSchema } },
  { method: 'get', path: '/config', summary: 'Output option defaults and limits, so previews match the cluster', responses: { 200: serverConfigSchema } },
  { method: 'get', path: '/stats', summary: 'Statistics (the earlier dashboard figures)', responses: { 200: statsSchema } },
  { method: 'get', path: '/events', summary: 'Status changes of every image from every pod (Server-Sent Events `status`: StatusEvent; ?batchId= for one batch), and deletions (`deleted`: DeletedEvent, every batch)', responses: { 200: 'text/event-stream' } },
  { method: 'get', path: '/metrics', summary: 'Cluster metrics: live pods and their history over ?span= seconds', responses: { 200: 'application/json' } },
  { method: 'get', path: '/metrics/stream', summary: 'Cluster metrics as Server-Sent Events (first event: history)', responses: { 200: 'text/event-stream' } },
];

const toSchema = (schema: z.ZodType, io: 'input' | 'output' = 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io, reused: 'ref' });

function parameters(route: ApiRoute): object[] {
  const path = [...route.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: m[1] === 'id' ? { type: 'integer', minimum: 1 } : { type: 'string', format: 'uuid' },
  }));
  const query = route.query
    ? Object.entries(toSchema(route.query, 'input').properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
    : [];
  return [...path, ...query];
}

function responses(route: ApiRoute): Record<string, object> {
  return Object.fromEntries(
    Object.entries(route.responses).map(([status, body]) => {
      if (body === undefined) return [status, { description: 'no content' }];
      if (typeof body === 'string') return [status, { description: body, content: { [body]: {} } }];
      return [status, { description: status.startsWith('2') ? 'ok' : 'error', content: { 'application/json': { schema: toSchema(body) } } }];
    }),
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
      'Batch photo resizing: upload JPEG/PNG/WebP images; each is resized by the batch\'s output options (default: inside 800x600, never enlarged, JPEG 85) by a pool of workers spread over the cluster. Uploads take an Idempotency-Key. With API_TOKEN set, every route needs `Authorization: Bearer <token>` (event streams and downloads also accept `?access_token=`).',
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
      ...(route.upload ? { requestBody: uploadBody() } : {}),
      responses: {
        ...responses(route),
        401: { description: 'a token is needed', content: { 'application/json': { schema: toSchema(apiErrorSchema) } } },
        // The browser guard: a Host that is none of the server's, or a cross-site write.
        403: { description: 'HOST_NOT_ALLOWED or CROSS_SITE_REQUEST', content: { 'application/json': { schema: toSchema(apiErrorSchema) } } },
      },
    };
    return paths;
  }, {}),
};
