/**
 * /api/v1: images, a batch's summary and ZIP, the server's config,
 * statistics, status events; each route declared once (api-route.ts), which
 * both registers it and describes it in the OpenAPI document.
 */
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { isBlobStoreError } from '../../blobs/blob-store.js';
import {
  apiErrorSchema,
  batchSummarySchema,
  imageListQuerySchema,
  imageListResponseSchema,
  imageSummarySchema,
  retryAnswerSchema,
  serverConfigSchema,
  statsSchema,
  uploadResponseSchema,
  type DeletedEvent,
  type ImageSummary,
  type StatusEvent,
} from '../../contract/api.js';
import { batchIdParam, defineRoute, imageIdParam, type AnyRoute } from '../api-route.js';
import { collectStats, type AppContext } from '../context.js';
import { HttpError, parseBatchId, parseId } from '../errors.js';
import { sendBatchZip, sendSingle } from '../downloads/index.js';
import { resultContentType, resultFilename } from '../result-names.js';
import { openSse } from '../sse.js';
import { handleUpload, sendUploadAnswer } from '../upload/index.js';

/**
 * One image's result, streamed. `attachmentName` (given the image and its
 * position in the batch) makes it a download under that name.
 */
export async function sendProcessed(
  ctx: AppContext,
  req: Request,
  res: Response,
  id: number,
  attachmentName?: (img: ImageSummary, position: number) => string,
): Promise<void> {
  const image = await ctx.images.get(id);
  if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
  if (image.status !== 'completed') {
    const why = image.status === 'failed' ? `it failed: ${image.error ?? 'unknown reason'}` : `it is ${image.status}`;
    throw new HttpError(409, 'NOT_COMPLETED', `image ${id} has no result yet: ${why}`);
  }
  if (image.processedBytes === null) throw new HttpError(404, 'NOT_FOUND', `image ${id} was deleted`);
  const name = attachmentName ? attachmentName(image, await ctx.images.positionInBatch(image)) : undefined;
  await sendSingle(
    req,
    res,
    {
      size: image.processedBytes,
      contentType: resultContentType(image, ctx.config.defaults),
      ...(name !== undefined ? { attachmentName: name } : {}),
      open: (range) => openOrGone(ctx.downloads.source.openResult(image, range), `image ${id} was deleted`),
    },
    { active: ctx.downloads.active, logger: ctx.logger },
  );
}

/** The source's "gone" as the API's 404. */
async function openOrGone(opening: Promise<Readable>, message: string): Promise<Readable> {
  try {
    return await opening;
  } catch (err) {
    if (isBlobStoreError(err, 'not-found')) throw new HttpError(404, 'NOT_FOUND', message);
    throw err;
  }
}

/**
 * Why an image has no original: the retention policy dropped it (410 Gone
 * when asked for the bytes, 409 for a retry), or it was never stored.
 */
async function noOriginal(ctx: AppContext, id: number, expiredStatus: 409 | 410): Promise<HttpError> {
  const dropped = await ctx.images.originalDroppedAt(id);
  if (dropped) {
    const what = expiredStatus === 409 ? 'cannot be retried' : 'is no longer available';
    return new HttpError(
      expiredStatus,
      'ORIGINAL_EXPIRED',
      `the original of image ${id} ${what}: the retention policy removed it at ${dropped.toISOString()}; upload it again`,
    );
  }
  return expiredStatus === 409
    ? new HttpError(409, 'NO_ORIGINAL', `image ${id} was rejected at upload and has no stored original to retry; upload it again`)
    : new HttpError(404, 'NOT_FOUND', `image ${id} has no stored original (it was rejected at upload)`);
}

const BYTES = 'image/*';
const error = apiErrorSchema;
/** `?batchId=` of an upload or an event stream: a batch's UUID. */
const batchQuery = z.object({ batchId: z.uuid().optional() });
/** `?download` (any value): an attachment, named. */
const downloadQuery = z.object({ download: z.string().optional() });

export const IMAGE_ROUTES: readonly AnyRoute<AppContext>[] = [
  defineRoute({
    method: 'post',
    path: '/images',
    summary: 'Upload images (multipart, field "images"; optional field "options" first, or option query parameters)',
    body: 'images',
    responses: { 202: uploadResponseSchema, 400: error, 408: error, 409: error, 410: error, 413: error, 415: error, 422: error },
    handle: async (ctx, req, res) => {
      // Option query parameters are the upload's own (upload/options.ts judges them with the body's).
      const batchId = req.query.batchId === undefined ? undefined : parseBatchId(req.query.batchId);
      sendUploadAnswer(res, await handleUpload(req, ctx.upload, { route: 'v1', ...(batchId ? { batchId } : {}) }));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/images',
    summary: 'List images, by batch and status, paged',
    query: imageListQuerySchema,
    responses: { 200: imageListResponseSchema, 400: error },
    handle: async (ctx, _req, res, { query }) => {
      const { images, total } = await ctx.images.list({ ...query, batchId: query.batchId?.toLowerCase() });
      res.json({ images, total, limit: query.limit, offset: query.offset });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/images/:id',
    summary: "One image's metadata",
    params: { id: imageIdParam },
    responses: { 200: imageSummarySchema, 404: error },
    handle: async (ctx, _req, res, { params: { id } }) => {
      const image = await ctx.images.get(id);
      if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
      res.json(image);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/images/:id',
    summary: 'Delete an image',
    params: { id: imageIdParam },
    responses: { 204: undefined, 404: error },
    handle: async (ctx, _req, res, { params: { id } }) => {
      if (!(await ctx.images.delete(id))) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
      res.status(204).end();
    },
  }),
  defineRoute({
    method: 'get',
    path: '/images/:id/original',
    summary: 'The original bytes (?download for an attachment; one Range is served as 206)',
    params: { id: imageIdParam },
    query: downloadQuery,
    responses: { 200: BYTES, 206: BYTES, 404: error, 410: error, 416: undefined },
    handle: async (ctx, req, res, { params: { id }, query }) => {
      const image = await ctx.images.get(id);
      if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
      if (image.originalBytes === null) throw await noOriginal(ctx, id, 410);
      await sendSingle(
        req,
        res,
        {
          size: image.originalBytes,
          contentType: image.contentType ?? 'application/octet-stream',
          ...(query.download !== undefined ? { attachmentName: image.filename } : {}),
          open: async (range) => {
            try {
              return await ctx.downloads.source.openOriginal(image, range);
            } catch (err) {
              if (isBlobStoreError(err, 'not-found')) throw await noOriginal(ctx, id, 410);
              throw err;
            }
          },
        },
        { active: ctx.downloads.active, logger: ctx.logger },
      );
    },
  }),
  defineRoute({
    method: 'get',
    path: '/images/:id/processed',
    summary: "The result bytes, in the batch's format (?download for an attachment named by its template; one Range is served as 206)",
    params: { id: imageIdParam },
    query: downloadQuery,
    responses: { 200: BYTES, 206: BYTES, 404: error, 409: error, 416: undefined },
    handle: async (ctx, req, res, { params: { id }, query }) => {
      const named = query.download !== undefined;
      await sendProcessed(ctx, req, res, id, named ? (image, position) => resultFilename(image, ctx.config.defaults, position) : undefined);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/images/:id/retry',
    summary: 'Retry a failed image: it is queued again (pending)',
    params: { id: imageIdParam },
    responses: { 202: retryAnswerSchema, 404: error, 409: error },
    handle: async (ctx, _req, res, { params: { id } }) => {
      const outcome = await ctx.images.retry(id);
      if (outcome === 'not-found') throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
      if (outcome === 'not-failed') throw new HttpError(409, 'NOT_FAILED', `image ${id} has not failed; only failed images can be retried`);
      if (outcome === 'no-data') throw await noOriginal(ctx, id, 409);
      res.status(202).json({ id, status: 'pending' });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/batches/:batchId',
    summary: "A batch's counts",
    params: { batchId: batchIdParam },
    responses: { 200: batchSummarySchema, 404: error },
    handle: async (ctx, _req, res, { params: { batchId } }) => {
      const summary = await ctx.images.batch(batchId);
      if (!summary) throw new HttpError(404, 'NOT_FOUND', `no batch ${batchId}`);
      res.json(summary);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/batches/:batchId/zip',
    summary: "The batch's results as one streamed ZIP (?ids=1,2 for some), named by its template",
    params: { batchId: batchIdParam },
    query: z.object({ ids: z.string().optional().describe('comma-separated image ids: only these (what the person still has on the page)') }),
    responses: { 200: 'application/zip', 404: error },
    // Streamed entry by entry with backpressure (see downloads/batch-zip.ts).
    handle: async (ctx, req, res, { params: { batchId }, query }) => {
      const ids = query.ids ? query.ids.split(',').map((raw) => parseId(raw.trim())) : undefined;
      await sendBatchZip(req, res, batchId, ids, {
        results: (b, some) => ctx.images.completedResults(b, some),
        source: ctx.downloads.source,
        defaults: ctx.config.defaults,
        active: ctx.downloads.active,
        logger: ctx.logger,
      });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/config',
    summary: 'Output option defaults and limits, so previews match the cluster',
    responses: { 200: serverConfigSchema },
    handle: (ctx, _req, res) => {
      res.json(ctx.config);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/stats',
    summary: 'Statistics (the earlier dashboard figures)',
    responses: { 200: statsSchema },
    handle: async (ctx, _req, res) => {
      res.json(await collectStats(ctx));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/events',
    summary:
      'Status changes of every image from every pod (Server-Sent Events `status`: StatusEvent; ?batchId= for one batch), and deletions (`deleted`: DeletedEvent, every batch)',
    query: batchQuery,
    invalidQueryCode: 'INVALID_BATCH_ID',
    responses: { 200: 'text/event-stream', 400: error },
    handle: (ctx, req, res, { query }) => {
      const batchId = query.batchId?.toLowerCase();
      const stream = openSse(req, res);
      stream.send('hello', { pod: ctx.podName, at: new Date().toISOString() });
      const listener = (event: StatusEvent) => {
        if (!batchId || event.batchId === batchId) stream.send('status', event, String(event.id));
      };
      const onDeleted = (id: number | '*') => {
        const event: DeletedEvent = { id: id === '*' ? null : id, at: new Date().toISOString() };
        stream.send('deleted', event);
      };
      ctx.notifications.on('status', listener);
      ctx.notifications.on('deleted', onDeleted);
      stream.onClose(() => {
        ctx.notifications.off('status', listener);
        ctx.notifications.off('deleted', onDeleted);
      });
    },
  }),
];
