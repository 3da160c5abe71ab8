/** The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json. */
const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: 'error', ...json(error) }]));

/** The metrics history's span (GET /api/v1/metrics and its stream). */
const spanParam = {
  name: 'span',
  in: 'query',
  schema: { type: 'integer', minimum: 0, maximum: 3600, default: 300 },
  description: 'seconds of history to include',
};

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const batchParam = { name: 'batchId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

const imageSummary = {
  type: 'object',
  required: ['id', 'batchId', 'filename', 'status', 'attempts', 'uploadedAt'],
  properties: {
    id: { type: 'integer' },
    batchId: { type: 'string', format: 'uuid' },
    filename: { type: 'string' },
    contentType: { type: ['string', 'null'] },
    status: { $ref: '#/components/schemas/Status' },
    error: { type: ['string', 'null'] },
    errorCode: { type: ['string', 'null'] },
    originalBytes: { type: ['integer', 'null'] },
    processedBytes: { type: ['integer', 'null'] },
    originalWidth: { type: ['integer', 'null'] },
    originalHeight: { type: ['integer', 'null'] },
    width: { type: ['integer', 'null'] },
    height: { type: ['integer', 'null'] },
    attempts: { type: 'integer' },
    workerId: { type: ['string', 'null'] },
    uploadedAt: { type: 'string', format: 'date-time' },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    processedAt: { type: ['string', 'null'], format: 'date-time' },
    processingMs: { type: ['integer', 'null'] },
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'imgfleet API',
    version: '1.0.0',
    description:
      'Batch photo resizing: upload JPEG/PNG/WebP images, each is resized to fit MAX_WIDTH x MAX_HEIGHT (never enlarged) as a JPEG by a pool of workers spread over the cluster. With API_TOKEN set, every route needs `Authorization: Bearer <token>` (event streams and download links, which a browser cannot give a header, also accept `?access_token=`; no other route does). Requests that change data (POST, DELETE) with an `Origin` of another site, or `Sec-Fetch-Site` other than `same-origin`/`none`, are refused with 403 `CROSS_SITE_REQUEST`; a `Host` that names no host of the server gets 403 `HOST_NOT_ALLOWED`.',
  },
  servers: [{ url: '/api/v1' }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: { type: 'object', required: ['error', 'code'], properties: { error: { type: 'string' }, code: { type: 'string' } } },
      Status: { type: 'string', enum: ['pending', 'processing', 'completed', 'failed'] },
      ImageSummary: imageSummary,
      UploadResponse: {
        type: 'object',
        required: ['message', 'batchId', 'accepted', 'rejected', 'images'],
        properties: {
          message: { type: 'string' },
          batchId: { type: 'string', format: 'uuid' },
          accepted: { type: 'integer' },
          rejected: { type: 'integer' },
          images: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'filename', 'status'],
              properties: {
                id: { type: 'integer' },
                filename: { type: 'string' },
                status: { $ref: '#/components/schemas/Status' },
                error: { type: 'string' },
                code: { type: 'string', description: 'EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_TYPE, TOO_MANY_PIXELS, CORRUPT_IMAGE' },
              },
            },
          },
        },
      },
      BatchSummary: {
        type: 'object',
        properties: Object.fromEntries(
          ['total', 'pending', 'processing', 'completed', 'failed'].map((k) => [k, { type: 'integer' }]).concat([['batchId', { type: 'string' }]]),
        ),
      },
      Stats: {
        type: 'object',
        properties: {
          total: { type: 'integer' },
          pending: { type: 'integer' },
          processing: { type: 'integer' },
          completed: { type: 'integer' },
          failed: { type: 'integer' },
          activeThreads: { type: 'integer' },
          totalThreads: { type: 'integer' },
          queueSize: { type: 'integer' },
          avgProcessingMs: { type: ['number', 'null'] },
          processedCount: { type: 'integer' },
          pod: { type: 'string' },
          recent: { type: 'array', items: { $ref: '#/components/schemas/ImageSummary' } },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/images': {
      post: {
        summary: 'Upload images (streamed multipart; one result per part, rejected parts with their reason)',
        parameters: [{ name: 'batchId', in: 'query', schema: { type: 'string', format: 'uuid' }, description: 'add to this batch (default: a new one)' }],
        requestBody: {
          required: true,
          content: { 'multipart/form-data': { schema: { type: 'object', properties: { images: { type: 'array', items: { type: 'string', format: 'binary' } } } } } },
        },
        responses: { '202': { description: 'accepted', ...json({ $ref: '#/components/schemas/UploadResponse' }) }, ...errors(400, 401, 403, 415) },
      },
      get: {
        summary: 'List images, newest first (oldest first within a batch)',
        parameters: [
          { name: 'batchId', in: 'query', schema: { type: 'string', format: 'uuid' } },
          { name: 'status', in: 'query', schema: { $ref: '#/components/schemas/Status' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
        ],
        responses: {
          '200': {
            description: 'a page of images',
            ...json({
              type: 'object',
              properties: {
                images: { type: 'array', items: { $ref: '#/components/schemas/ImageSummary' } },
                total: { type: 'integer' },
                limit: { type: 'integer' },
                offset: { type: 'integer' },
              },
            }),
          },
          ...errors(400, 401),
        },
      },
    },
    '/images/{id}': {
      get: { summary: "One image's metadata", parameters: [idParam], responses: { '200': { description: 'the image', ...json({ $ref: '#/components/schemas/ImageSummary' }) }, ...errors(401, 404) } },
      delete: { summary: 'Delete an image', parameters: [idParam], responses: { '204': { description: 'deleted' }, ...errors(401, 403, 404) } },
    },
    '/images/{id}/original': {
      get: {
        summary: 'The uploaded bytes (410 `ORIGINAL_EXPIRED` once the retention policy removed them)',
        parameters: [idParam],
        responses: { '200': { description: 'image bytes' }, ...errors(401, 404, 410) },
      },
    },
    '/images/{id}/processed': {
      get: {
        summary: 'The resized JPEG (`?download` for an attachment named <name>_<w>x<h>.jpg)',
        parameters: [idParam, { name: 'download', in: 'query', schema: { type: 'string' } }],
        responses: { '200': { description: 'JPEG', content: { 'image/jpeg': {} } }, ...errors(401, 404, 409) },
      },
    },
    '/images/{id}/retry': {
      post: {
        summary: 'Queue a failed image again (409 `NOT_FAILED`, `NO_ORIGINAL`, or `ORIGINAL_EXPIRED` when retention removed its original)',
        parameters: [idParam],
        responses: { '202': { description: 'queued' }, ...errors(401, 403, 404, 409) },
      },
    },
    '/batches/{batchId}': {
      get: { summary: "A batch's counts", parameters: [batchParam], responses: { '200': { description: 'counts', ...json({ $ref: '#/components/schemas/BatchSummary' }) }, ...errors(401, 404) } },
      delete: {
        summary: 'Delete the batch: every image, queued and processing ones included (their workers then store nothing)',
        parameters: [batchParam],
        responses: {
          '200': {
            description: 'how many images were deleted, by the status they had',
            ...json({
              type: 'object',
              required: ['batchId', 'deleted', 'pending', 'processing', 'completed', 'failed'],
              properties: {
                batchId: { type: 'string', format: 'uuid' },
                deleted: { type: 'integer' },
                pending: { type: 'integer' },
                processing: { type: 'integer' },
                completed: { type: 'integer' },
                failed: { type: 'integer' },
              },
            }),
          },
          ...errors(401, 403, 404),
        },
      },
    },
    '/batches/{batchId}/zip': {
      get: {
        summary: "The batch's completed results as a ZIP (streamed)",
        parameters: [batchParam, { name: 'ids', in: 'query', schema: { type: 'string' }, description: 'comma-separated image ids: only these' }],
        responses: { '200': { description: 'ZIP', content: { 'application/zip': {} } }, ...errors(401, 404) },
      },
    },
    '/stats': { get: { summary: 'Statistics (the earlier dashboard figures)', responses: { '200': { description: 'stats', ...json({ $ref: '#/components/schemas/Stats' }) }, ...errors(401) } } },
    '/events': {
      get: {
        summary: 'Server-Sent Events: `status` events (StatusEvent JSON) for every status change on any pod',
        parameters: [{ name: 'batchId', in: 'query', schema: { type: 'string', format: 'uuid' } }],
        responses: { '200': { description: 'event stream', content: { 'text/event-stream': {} } }, ...errors(400, 401) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Latest metrics snapshot and derived figures per pod, and every pod\'s history over the span (stopped pods marked gone)',
        parameters: [spanParam],
        responses: { '200': { description: 'metrics' }, ...errors(400, 401) },
      },
    },
    '/metrics/stream': {
      get: {
        summary: 'Server-Sent Events: first `history` (as GET /metrics), then `snapshot`, `derived` and `expired` events as pods publish them',
        parameters: [spanParam],
        responses: { '200': { description: 'event stream', content: { 'text/event-stream': {} } }, ...errors(400, 401) },
      },
    },
  },
} as const;
