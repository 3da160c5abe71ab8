/**
 * The backend's HTTP API (/api/v1 and the earlier routes) as zod schemas:
 * the one description of every shape. Types come from `z.infer`, requests
 * are validated with these schemas, and the OpenAPI document is generated
 * from them (http/openapi.ts), so the three cannot drift apart. No Node
 * imports: the desktop renderer bundles what it uses.
 */
import { z } from 'zod';
import { OUTPUT_FORMATS, outputOptionsSchema, type OutputOptions } from './output-options.js';

/** Server-side life of an image. `queued` and `uploading` exist only in clients. */
export const imageStatusSchema = z.enum(['pending', 'processing', 'completed', 'failed']);
export type ImageStatus = z.infer<typeof imageStatusSchema>;

const nullableText = z.string().nullable();
const nullableInt = z.int().nullable();
const isoTime = z.string().meta({ format: 'date-time' });

/** The output options as stored and echoed (every field resolved). */
export const resolvedOptionsSchema = z
  .custom<OutputOptions>((v) => typeof v === 'object' && v !== null)
  .meta({ id: 'OutputOptions', description: "A batch's output options, every field filled in (see GET /api/v1/config for defaults and limits)" });

export const imageSummarySchema = z
  .object({
    id: z.int(),
    batchId: z.string(),
    filename: z.string(),
    contentType: nullableText.describe(
      'detected from the bytes (image/jpeg, image/png, image/webp, image/heic, image/tiff, image/gif); null when unrecognised',
    ),
    status: imageStatusSchema,
    error: nullableText.describe('human-readable reason when failed'),
    errorCode: nullableText.describe(
      'EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_TYPE, TOO_MANY_PIXELS, TOO_MUCH_MEMORY, CORRUPT_IMAGE, TIMEOUT, WORKER_CRASHED, …',
    ),
    originalBytes: nullableInt,
    processedBytes: nullableInt,
    originalWidth: nullableInt,
    originalHeight: nullableInt,
    width: nullableInt,
    height: nullableInt,
    attempts: z.int(),
    workerId: nullableText,
    uploadedAt: isoTime,
    startedAt: isoTime.nullable(),
    processedAt: isoTime.nullable(),
    processingMs: nullableInt,
    options: resolvedOptionsSchema.nullable().describe("null for images stored before options existed (made with the server's rules)"),
    sourcePath: nullableText.describe('its path below the dropped folder (trip/day 1/IMG_1.JPG), when it came from one'),
    outputQuality: nullableInt.describe(
      "the quality the result was encoded at: the options' own, or with maxBytes the highest whose file fits; null until completed",
    ),
  })
  .meta({ id: 'ImageSummary' });
export type ImageSummary = z.infer<typeof imageSummarySchema>;

/** One multipart part's outcome. Rejected parts are stored as `failed` with their reason. */
export const uploadFileResultSchema = z
  .object({ id: z.int(), filename: z.string(), status: imageStatusSchema, error: z.string().optional(), code: z.string().optional() })
  .meta({ id: 'UploadFileResult' });
export type UploadFileResult = z.infer<typeof uploadFileResultSchema>;

export const notReadFileSchema = z.object({ filename: z.string(), code: z.string(), error: z.string() });
export type NotReadFile = z.infer<typeof notReadFileSchema>;

/** 202 from POST /api/v1/images and the earlier POST /upload. */
export const uploadResponseSchema = z
  .object({
    message: z.string(),
    batchId: z.string(),
    accepted: z.int(),
    rejected: z.int(),
    images: z.array(uploadFileResultSchema),
    options: resolvedOptionsSchema.optional().describe('the options every image of this request is made with'),
    notRead: z.array(notReadFileSchema).optional().describe('files past MAX_FILES_PER_UPLOAD, not read'),
  })
  .meta({ id: 'UploadResponse' });
export type UploadResponse = z.infer<typeof uploadResponseSchema>;

export const imageListQuerySchema = z.object({
  batchId: z.uuid().optional(),
  status: imageStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});
export type ImageListQuery = z.infer<typeof imageListQuerySchema>;

export const imageListResponseSchema = z
  .object({ images: z.array(imageSummarySchema), total: z.int(), limit: z.int(), offset: z.int() })
  .meta({ id: 'ImageList' });
export type ImageListResponse = z.infer<typeof imageListResponseSchema>;

const statusCounts = { pending: z.int(), processing: z.int(), completed: z.int(), failed: z.int() };

export const batchSummarySchema = z.object({ batchId: z.string(), total: z.int(), ...statusCounts }).meta({ id: 'BatchSummary' });
export type BatchSummary = z.infer<typeof batchSummarySchema>;

/** GET /api/v1/batches: a page of batches, the latest upload first. */
export const batchListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});
export type BatchListQuery = z.infer<typeof batchListQuerySchema>;

export const batchListItemSchema = z
  .object({
    batchId: z.string(),
    createdAt: isoTime.describe('when its first image was uploaded'),
    updatedAt: isoTime.describe('its latest upload or result'),
    total: z.int(),
    ...statusCounts,
    originalBytes: z.int().describe('the originals of its completed images whose original is still stored (the retention policy drops them)'),
    resultBytes: z.int().describe('the results of those same images: the saving is 1 − resultBytes / originalBytes'),
  })
  .meta({ id: 'BatchListItem' });
export type BatchListItem = z.infer<typeof batchListItemSchema>;

export const batchListResponseSchema = z
  .object({ batches: z.array(batchListItemSchema), total: z.int().describe('batches in all'), limit: z.int(), offset: z.int() })
  .meta({ id: 'BatchList' });
export type BatchListResponse = z.infer<typeof batchListResponseSchema>;

/** DELETE /api/v1/batches/:id: how many were deleted, by the status each had. */
export const batchDeletionSchema = z.object({ batchId: z.string(), deleted: z.int(), ...statusCounts }).meta({ id: 'BatchDeletion' });
export type BatchDeletion = z.infer<typeof batchDeletionSchema>;

/** Pushed on GET /api/v1/events as `event: status`, from whichever process changed the image. */
export const statusEventSchema = z
  .object({
    id: z.int(),
    batchId: z.string(),
    filename: z.string(),
    status: imageStatusSchema,
    error: nullableText,
    errorCode: nullableText,
    width: nullableInt,
    height: nullableInt,
    workerId: nullableText,
    processingMs: nullableInt,
    processedAt: isoTime.nullable().optional().describe('when it completed or failed'),
    at: isoTime.describe('time of the change'),
  })
  .meta({ id: 'StatusEvent' });
export type StatusEvent = z.infer<typeof statusEventSchema>;

/**
 * Pushed on GET /api/v1/events as `event: deleted` when an image's row is
 * gone (a batch delete, the retention policy, TRUNCATE), to every stream:
 * the notification names the id only, and a client ignores ids it does not hold.
 */
export const deletedEventSchema = z
  .object({
    id: z.int().nullable().describe('null: every image was deleted at once (TRUNCATE)'),
    at: isoTime.describe('when this pod heard of it'),
  })
  .meta({ id: 'DeletedEvent' });
export type DeletedEvent = z.infer<typeof deletedEventSchema>;

/** GET /api/v1/stats and GET /dashboard (the earlier dashboard's figures and more). */
export const statsSchema = z
  .object({
    total: z.int(),
    ...statusCounts,
    activeThreads: z.int().describe('worker threads busy in this process'),
    totalThreads: z.int().describe('worker threads in this process'),
    queueSize: z.int().describe('images waiting for a worker, cluster-wide'),
    avgProcessingMs: z.number().nullable().describe('mean processing time of completed images'),
    processedCount: z.int().describe('images this process completed since it started'),
    pod: z.string(),
    recent: z.array(imageSummarySchema),
  })
  .meta({ id: 'Stats' });
export type Stats = z.infer<typeof statsSchema>;

/** GET /status/:id/json (earlier route; `error` added). */
export const legacyStatusSchema = z.object({ status: imageStatusSchema, processed_at: isoTime.nullable(), error: nullableText }).meta({ id: 'LegacyStatus' });
export type LegacyStatus = z.infer<typeof legacyStatusSchema>;

/** Every error response. */
export const apiErrorSchema = z.object({ error: z.string(), code: z.string() }).loose().meta({ id: 'Error' });
export type ApiErrorBody = z.infer<typeof apiErrorSchema>;

/** GET /api/v1/config: what a client needs to validate and preview exactly as the server will. */
const outputFormatSchema = z.enum(OUTPUT_FORMATS);
export const serverConfigSchema = z
  .object({
    version: z.string(),
    defaults: resolvedOptionsSchema,
    limits: z.object({
      maxWidth: z.int(),
      maxHeight: z.int(),
      formats: z.array(outputFormatSchema).readonly(),
      maxUploadBytes: z.int(),
      maxPixels: z.int(),
      maxFilesPerUpload: z.int(),
      jobMemoryBytes: z.int().describe('memory one image’s resize may need at its peak (decode, resize and encode), as imaging/job-cost.ts counts it'),
      decodeMemoryBytes: z.int().describe('the same figure, under its earlier name (clients before job costs compared decodes with it)'),
    }),
    presets: z.array(z.object({ label: z.string(), width: z.int(), height: z.int() })).readonly(),
    formats: z.array(outputFormatSchema).readonly(),
  })
  .meta({ id: 'ServerConfig' });
/** One type, from its schema: what the server serves is what clients read. */
export type ServerConfig = z.infer<typeof serverConfigSchema>;

/** POST /api/v1/images/:id/retry: the image is queued again. */
export const retryAnswerSchema = z.object({ id: z.int(), status: z.literal('pending') }).meta({ id: 'RetryAnswer' });
export type RetryAnswer = z.infer<typeof retryAnswerSchema>;

/** The options a request may send (multipart field `options` or query parameters), for the document. */
export const outputOptionsInputSchema = outputOptionsSchema;

/** The metrics API's shapes live in their own file; re-exported so clients import every shape from one place. */
export * from './metrics.js';
