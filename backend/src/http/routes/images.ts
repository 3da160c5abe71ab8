/** /api/v1: images, batches, statistics, status events. */
import type { Readable } from 'node:stream';
import { Router, type Request, type Response } from 'express';
import { isBlobStoreError } from '../../blobs/blob-store.js';
import { originalDroppedAt } from '../../retention/store.js';
import { imageListQuerySchema, type DeletedEvent, type ImageSummary, type StatusEvent } from '../../contract/api.js';
import { collectStats, type AppContext } from '../context.js';
import { HttpError, parseBatchId, parseId, parseQuery } from '../errors.js';
import { positionInBatch, sendBatchZip, sendSingle } from '../downloads/index.js';
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
  const name = attachmentName ? attachmentName(image, await positionInBatch(ctx.storage.db, image)) : undefined;
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
  const dropped = await originalDroppedAt(ctx.storage.db, id);
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

export function imagesRouter(ctx: AppContext): Router {
  const r = Router();

  r.post('/images', async (req, res) => {
    const batchId = req.query.batchId === undefined ? undefined : parseBatchId(req.query.batchId);
    sendUploadAnswer(res, await handleUpload(req, ctx.upload, { route: 'v1', ...(batchId ? { batchId } : {}) }));
  });

  r.get('/images', async (req, res) => {
    if (req.query.batchId !== undefined) parseBatchId(req.query.batchId);
    const query = parseQuery(imageListQuerySchema, req.query);
    const { images, total } = await ctx.images.list({ ...query, batchId: query.batchId?.toLowerCase() });
    res.json({ images, total, limit: query.limit, offset: query.offset });
  });

  r.get('/images/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const image = await ctx.images.get(id);
    if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    res.json(image);
  });

  r.get('/images/:id/original', async (req, res) => {
    const id = parseId(req.params.id);
    const image = await ctx.images.get(id);
    if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    if (image.originalBytes === null) throw await noOriginal(ctx, id, 410);
    await sendSingle(
      req,
      res,
      {
        size: image.originalBytes,
        contentType: image.contentType ?? 'application/octet-stream',
        ...(req.query.download !== undefined ? { attachmentName: image.filename } : {}),
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
  });

  r.get('/images/:id/processed', async (req, res) => {
    const id = parseId(req.params.id);
    const named = req.query.download !== undefined;
    await sendProcessed(ctx, req, res, id, named ? (image, position) => resultFilename(image, ctx.config.defaults, position) : undefined);
  });

  r.post('/images/:id/retry', async (req, res) => {
    const id = parseId(req.params.id);
    const outcome = await ctx.images.retry(id);
    if (outcome === 'not-found') throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    if (outcome === 'not-failed') throw new HttpError(409, 'NOT_FAILED', `image ${id} has not failed; only failed images can be retried`);
    if (outcome === 'no-data') throw await noOriginal(ctx, id, 409);
    res.status(202).json({ id, status: 'pending' });
  });

  r.delete('/images/:id', async (req, res) => {
    const id = parseId(req.params.id);
    if (!(await ctx.images.delete(id))) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    res.status(204).end();
  });

  r.get('/batches/:batchId', async (req, res) => {
    const batchId = parseBatchId(req.params.batchId, 404);
    const summary = await ctx.images.batch(batchId);
    if (!summary) throw new HttpError(404, 'NOT_FOUND', `no batch ${batchId}`);
    res.json(summary);
  });

  // The batch's results as one ZIP, streamed entry by entry with backpressure (see downloads/batch-zip.ts).
  r.get('/batches/:batchId/zip', async (req, res) => {
    const batchId = parseBatchId(req.params.batchId, 404);
    // `?ids=3,5,8`: only these (what the person still has on the page).
    let ids: number[] | undefined;
    if (typeof req.query.ids === 'string' && req.query.ids !== '') {
      ids = req.query.ids.split(',').map((raw) => parseId(raw.trim()));
    }
    await sendBatchZip(req, res, batchId, ids, {
      db: ctx.storage.db,
      source: ctx.downloads.source,
      defaults: ctx.config.defaults,
      active: ctx.downloads.active,
      logger: ctx.logger,
    });
  });

  r.get('/config', (_req, res) => {
    res.json(ctx.config);
  });

  r.get('/stats', async (_req, res) => {
    res.json(await collectStats(ctx));
  });

  // Status changes from every pod (via LISTEN/NOTIFY), optionally one batch's.
  r.get('/events', (req, res) => {
    const batchId = req.query.batchId === undefined ? undefined : parseBatchId(req.query.batchId);
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
  });

  return r;
}
