/**
 * GET /api/v1/batches: the batches, the latest upload first, paged (the
 * apps' "Recent batches"). With API_TOKEN set a request is answered only
 * with that token, and the one token sees every batch: there is no
 * per-token ownership yet.
 *
 * DELETE /api/v1/batches/:batchId: removes every row of the batch, images
 * still queued or processing included (a person deleting a batch wants its
 * work stopped too; the workers' guarded writes then find no row). Answers
 * how many images went, by the status they had.
 */
import { Router } from 'express';
import { deleteBatch } from '../../retention/store.js';
import { batchListQuerySchema } from '../../contract/api.js';
import type { AppContext } from '../context.js';
import { HttpError, parseBatchId, parseQuery } from '../errors.js';

export function batchesRouter(ctx: AppContext): Router {
  const r = Router();
  r.get('/batches', async (req, res) => {
    const query = parseQuery(batchListQuerySchema, req.query);
    const { batches, total } = await ctx.images.batches(query);
    res.json({ batches, total, limit: query.limit, offset: query.offset });
  });
  r.delete('/batches/:batchId', async (req, res) => {
    const batchId = parseBatchId(req.params.batchId, 404);
    const deletion = await deleteBatch(ctx.storage.db, ctx.storage.blobs, batchId, ctx.storage.rowsPerStatement);
    if (!deletion) throw new HttpError(404, 'NOT_FOUND', `no batch ${batchId}`);
    ctx.logger.info(deletion, 'batch deleted');
    res.json(deletion);
  });
  return r;
}
