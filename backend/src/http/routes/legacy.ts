/**
 * The earlier Flask system's routes, kept for its clients and bookmarks:
 * POST /upload, GET /status/:id/json, GET /download/:id, GET /dashboard.
 */
import { Router } from 'express';
import type { LegacyStatus } from '../contract.js';
import { collectStats, type AppContext } from '../context.js';
import { HttpError, parseId } from '../errors.js';
import { handleUpload } from '../upload.js';
import { sendProcessed } from './images.js';

export function legacyRouter(ctx: AppContext): Router {
  const r = Router();

  r.post('/upload', async (req, res) => {
    const result = await handleUpload(req, {
      repo: ctx.repo,
      dispatcher: ctx.dispatcher,
      rules: ctx.rules,
      maxFiles: ctx.maxFilesPerUpload,
      memorySlots: ctx.memorySlots,
      logger: ctx.logger,
      onFile: ctx.onUploadedFile,
    });
    res.status(202).json(result);
  });

  r.get('/status/:id/json', async (req, res) => {
    const id = parseId(req.params.id);
    const image = await ctx.repo.get(id);
    if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    const body: LegacyStatus = { status: image.status, processed_at: image.processedAt };
    res.json(body);
  });

  r.get('/download/:id', async (req, res) => {
    const id = parseId(req.params.id);
    await sendProcessed(ctx, res, id, () => `processed_${id}.jpg`);
  });

  r.get('/dashboard', async (_req, res) => {
    res.json(await collectStats(ctx));
  });

  return r;
}
