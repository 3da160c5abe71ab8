/**
 * `GET /api/v1/batches/:id/zip`: the batch's results as one ZIP, streamed.
 *
 * The ZIP is the batch as it was when the request came: its entries, names
 * and total size are fixed before the first byte (so it carries a
 * Content-Length). An image deleted while the ZIP is being sent (the batch
 * deleted, a photo removed, a retention sweep) cannot be delivered as
 * promised: the transfer is cut there, short of its Content-Length, so the
 * client knows the ZIP is incomplete (a browser says "failed", curl exits
 * 18) rather than receiving a valid-looking ZIP that silently lacks photos.
 * Asking again gives a ZIP of what the batch has now.
 */
import type { Request, Response } from 'express';
import type { OutputOptions } from '../../contract/output-options.js';
import type { Logger } from '../../logger.js';
import { HttpError } from '../errors.js';
import { ZipNames } from '../result-names.js';
import type { ActiveDownloads } from './active-downloads.js';
import type { ListedResult } from './batch-listing.js';
import { attachmentHeader } from './content-disposition.js';
import { streamBody } from './respond.js';
import type { DownloadSource } from './source.js';
import { zipStream, type ZipEntry } from './zip-writer.js';

export interface BatchZipDeps {
  /** The batch's completed results (only `ids`, when given), in upload order (the images service). */
  results(batchId: string, ids?: readonly number[]): Promise<ListedResult[]>;
  source: DownloadSource;
  defaults: OutputOptions;
  active: ActiveDownloads;
  logger: Logger;
}

export async function sendBatchZip(req: Request, res: Response, batchId: string, ids: number[] | undefined, deps: BatchZipDeps): Promise<void> {
  const results = await deps.results(batchId, ids);
  if (results.length === 0) throw new HttpError(404, 'NOT_FOUND', `batch ${batchId} has no completed images`);
  const names = new ZipNames(deps.defaults);
  const entries: ZipEntry[] = [];
  for (const { image, position, size } of results) {
    const name = names.next(image, position);
    if (!name) continue; // the batch's collision policy: skip
    entries.push({
      name,
      size,
      mtime: image.processedAt ? new Date(image.processedAt) : new Date(),
      open: () => deps.source.openResult(image),
    });
  }
  const zip = zipStream(entries);
  res.type('application/zip');
  res.set('Content-Disposition', attachmentHeader(`imgfleet-${batchId.slice(0, 8)}.zip`));
  res.set('Content-Length', String(zip.size));
  if (req.method === 'HEAD') {
    zip.stream.destroy();
    res.end();
    return;
  }
  await streamBody(res, zip.stream, deps, `zip of batch ${batchId}`);
}
