/**
 * Downloads processed results into a folder, named with the naming template.
 * The size in the name is read from the JPEG itself (not from a status
 * event that may be stale), and an existing file is never replaced
 * (see output-writer.ts).
 */
import sharp from 'sharp';
import { detectFormat } from '@imgfleet/backend/imaging';
import { renderName, splitName } from '../../shared/naming-template.js';
import type { DownloadItem, WriteOutcome, WriteSummary } from '../../shared/models.js';
import { AppError, errorInfo } from './app-error.js';
import type { ApiClient } from './api-client.js';
import { mapLimit } from './limiter.js';
import { writeUnique } from './output-writer.js';

export interface DownloadOptions {
  folder: string;
  template: string;
  concurrency?: number;
  onResult?: (outcome: WriteOutcome) => void;
  signal?: AbortSignal;
}

export async function downloadOne(client: ApiClient, item: DownloadItem, options: DownloadOptions): Promise<WriteOutcome> {
  try {
    const data = await client.processed(item.id, options.signal);
    if (detectFormat(data) !== 'jpeg') {
      throw new AppError('NOT_A_JPEG', `the backend's result for image ${item.id} is not a JPEG`);
    }
    const { width, height } = await sharp(data).metadata();
    if (!width || !height) throw new AppError('NOT_A_JPEG', `the backend's result for image ${item.id} has no dimensions`);
    const { base, ext } = splitName(item.name);
    const name = renderName(options.template, { name: base, ext, width, height, id: item.id });
    const written = await writeUnique(options.folder, name, data);
    return { key: item.key, ok: true, path: written, width, height };
  } catch (err) {
    const info = errorInfo(err);
    return { key: item.key, ok: false, error: info.message, code: info.code };
  }
}

export async function downloadImages(client: ApiClient, items: readonly DownloadItem[], options: DownloadOptions): Promise<WriteSummary> {
  const results = await mapLimit(items, options.concurrency ?? 4, async (item) => {
    const outcome = await downloadOne(client, item, options);
    options.onResult?.(outcome);
    return outcome;
  });
  const written = results.filter((r) => r.ok).length;
  return { folder: options.folder, written, failed: results.length - written, results };
}
