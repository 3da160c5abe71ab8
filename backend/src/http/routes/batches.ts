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
import { apiErrorSchema, batchDeletionSchema, batchListQuerySchema, batchListResponseSchema } from '../../contract/api.js';
import { batchIdParam, defineRoute, type AnyRoute } from '../api-route.js';
import type { AppContext } from '../context.js';
import { HttpError } from '../errors.js';

export const BATCH_ROUTES: readonly AnyRoute<AppContext>[] = [
  defineRoute({
    method: 'get',
    path: '/batches',
    summary:
      'Batches, the latest upload first, paged: counts by status and the bytes of the results against their originals (with API_TOKEN set: those the token may see, every batch while there is one token)',
    query: batchListQuerySchema,
    responses: { 200: batchListResponseSchema, 400: apiErrorSchema },
    handle: async (ctx, _req, res, { query }) => {
      const { batches, total } = await ctx.images.batches(query);
      res.json({ batches, total, limit: query.limit, offset: query.offset });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/batches/:batchId',
    summary: 'Delete a batch, every image of it (queued and processing ones too)',
    params: { batchId: batchIdParam },
    responses: { 200: batchDeletionSchema, 404: apiErrorSchema },
    handle: async (ctx, _req, res, { params: { batchId } }) => {
      const deletion = await ctx.images.deleteBatch(batchId);
      if (!deletion) throw new HttpError(404, 'NOT_FOUND', `no batch ${batchId}`);
      ctx.logger.info(deletion, 'batch deleted');
      res.json(deletion);
    },
  }),
];
