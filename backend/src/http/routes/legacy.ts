/**
 * The earlier Flask system's routes, kept for its clients and bookmarks:
 * POST /upload, GET /status/:id/json, GET /download/:id, and the pages
 * GET /status/:id and GET /dashboard (HTML for a browser, JSON for clients).
 */
import { existsSync } from 'node:fs';
import type { OutputOptions } from '../../contract/output-options.js';
import path from 'node:path';
import { Router } from 'express';
import { isAuthenticated, unauthorized } from '../auth.js';
import type { ImageSummary, LegacyStatus } from '../../contract/api.js';
import { collectStats, type AppContext } from '../context.js';
import { HttpError, parseId } from '../errors.js';
import { handleUpload, sendUploadAnswer } from '../upload/index.js';
import { WEB_CSP, sendPage, wantsHtml } from '../web.js';
import { legacyResultName, resultFilename } from '../result-names.js';
import { sendProcessed } from './images.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The earlier per-image status page: server-rendered, refreshing itself until
 * the image is done. `query` (the page's own `?access_token=…`, when the
 * server needs one) is carried into its download link.
 */
export function statusPage(image: ImageSummary, defaults: OutputOptions, query = '', position = 1): string {
  const done = image.status === 'completed' || image.status === 'failed';
  const rows: [string, string][] = [
    ['File', image.filename],
    ['Status', image.status],
    ['Uploaded', image.uploadedAt],
  ];
  if (image.originalWidth) rows.push(['Original', `${image.originalWidth} × ${image.originalHeight}`]);
  if (image.width) rows.push(['Result', `${image.width} × ${image.height}`]);
  if (image.processingMs !== null) rows.push(['Processing time', `${image.processingMs} ms`]);
  if (image.processedAt) rows.push(['Processed', image.processedAt]);
  if (image.error) rows.push(['Reason', image.error]);
  const table = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');
  const download =
    image.status === 'completed'
      ? `<p><a href="/download/${image.id}${escapeHtml(query)}" download="${escapeHtml(resultFilename(image, defaults, position))}">Download the resized image</a></p>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${done ? '' : '<meta http-equiv="refresh" content="2">'}
<title>${escapeHtml(image.filename)}: ${image.status} · imgfleet</title>
</head><body>
<h1>Image ${image.id}: <span class="status-${image.status}">${image.status}</span></h1>
<table>${table}</table>
${download}
<p><a href="/">Upload more</a> · <a href="/dashboard">Dashboard</a></p>
</body></html>`;
}

export function legacyRouter(ctx: AppContext, webRoot: string): Router {
  const r = Router();

  r.post('/upload', async (req, res) => {
    sendUploadAnswer(res, await handleUpload(req, ctx.upload, { route: 'legacy' }));
  });

  r.get('/status/:id/json', async (req, res) => {
    const id = parseId(req.params.id);
    // From memory when this pod has seen it: the earlier clients poll this many times per image.
    const image = await ctx.statuses.get(id, () => ctx.images.get(id));
    if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    const body: LegacyStatus = { status: image.status, processed_at: image.processedAt, error: image.error };
    res.json(body);
  });

  r.get('/download/:id', async (req, res) => {
    const id = parseId(req.params.id);
    await sendProcessed(ctx, req, res, id, (image) => legacyResultName(image, ctx.config.defaults));
  });

  r.get('/status/:id', async (req, res) => {
    const id = parseId(req.params.id);
    const image = await ctx.images.get(id);
    if (!image) throw new HttpError(404, 'NOT_FOUND', `no image ${id}`);
    if (req.accepts(['html', 'json']) === 'json') {
      res.json(image);
      return;
    }
    const token = typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
    res.setHeader('Content-Security-Policy', WEB_CSP);
    const query = token ? `?access_token=${encodeURIComponent(token)}` : '';
    res.type('html').send(statusPage(image, ctx.config.defaults, query, await ctx.images.positionInBatch(image)));
  });

  // Browsers get the dashboard page (the web UI's metrics view); clients get the figures.
  // The page is open (it asks the API for its figures); the figures never are.
  r.get('/dashboard', async (req, res) => {
    if (wantsHtml(req) && existsSync(path.join(webRoot, 'metrics.html'))) {
      sendPage(webRoot, 'metrics.html', res);
      return;
    }
    if (!isAuthenticated(res)) throw unauthorized(false);
    res.json(await collectStats(ctx));
  });

  return r;
}
