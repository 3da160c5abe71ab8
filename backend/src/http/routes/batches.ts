/**
 * DELETE /api/v1/batches/:batchId: removes every row of the batch, images
 * still queued or processing included (a person deleting a batch wants its
 * work stopped too; the workers' guarded writes then find no row). Answers
 * how many images went, by the status they had.
 */
import { Router } from 'express';
import { deleteBatch } from '../../retention/store.js';
import type { AppContext } from '../context.js';
import { HttpError, parseBatchId } from '../errors.js';

export function batchesRouter(ctx: AppContext): Router {
  const r = Router();
  r.delete('/batches/:batchId', async (req, res) => {
    const batchId = parseBatchId(req.params.batchId, 404);
    const deletion = await deleteBatch(ctx.storage.db, ctx.storage.blobs, batchId, ctx.storage.rowsPerStatement);
    if (!deletion) throw new HttpError(404, 'NOT_FOUND', `no batch ${batchId}`);
    ctx.logger.info(deletion, 'batch deleted');
    res.json(deletion);
  });
  return r;
}
