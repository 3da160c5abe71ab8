/**
 * Downloads processed results into a folder, named and placed with the
 * batch's options (template, folders of a folder drop, collision policy).
 * The format and size in the name are read from the result itself (not from
 * a status event that may be stale), and the bytes must be the format the
 * options asked for.
 */
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, outputRelativePath, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import type { DownloadItem, WriteOutcome, WriteSummary } from '../../shared/models.js';
import { AppError, errorInfo } from './app-error.js';
import type { ApiClient } from './api-client.js';
import { mapLimit } from './limiter.js';
import { writeOutput, type FileTimes } from './output-writer.js';

export interface DownloadOptions {
  folder: string;
  /** The batch's options (naming, folders, collisions); the defaults otherwise. */
  options?: OutputOptions;
  /** Overrides the options' naming template (the earlier callers'). */
  template?: string;
  batch?: string;
  concurrency?: number;
  /** The times to give an item's result (its original's, see original-dates.ts); none: written now. */
  timesOf?: (item: DownloadItem) => Promise<FileTimes | undefined>;
  onResult?: (outcome: WriteOutcome) => void;
  signal?: AbortSignal;
}

/** sharp's metadata format names → the output format names. */
const OUTPUT_OF: Readonly<Record<string, OutputOptions['format']>> = { jpeg: 'jpeg', webp: 'webp', heif: 'avif', png: 'png' };

export async function downloadOne(client: ApiClient, item: DownloadItem, options: DownloadOptions): Promise<WriteOutcome> {
  try {
    const base = options.options ?? DEFAULT_OUTPUT_OPTIONS;
    const output = options.template === undefined ? base : { ...base, template: options.template };
    const data = await client.processed(item.id, options.signal);
    const meta = await sharp(data)
      .metadata()
      .catch(() => null);
    const format = meta ? OUTPUT_OF[meta.format] : undefined;
    if (!meta || !format || !meta.width || !meta.height) {
      throw new AppError('NOT_AN_IMAGE', `the backend's result for image ${item.id} is not a JPEG, WebP, AVIF or PNG image`);
    }
    const relative = outputRelativePath(
      { ...output, format },
      {
        path: item.name,
        width: meta.width,
        height: meta.height,
        id: item.id,
        ...(item.index === undefined ? {} : { index: item.index }),
        ...(options.batch === undefined ? {} : { batch: options.batch }),
      },
    );
    const written = await writeOutput(options.folder, relative, data, output.collision, await options.timesOf?.(item));
    return {
      key: item.key,
      ok: true,
      path: written.path,
      width: meta.width,
      height: meta.height,
      bytes: data.length,
      ...(written.skipped ? { skipped: true } : {}),
    };
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
  const written = results.filter((r) => r.ok && !r.skipped).length;
  return { folder: options.folder, written, failed: results.filter((r) => !r.ok).length, results };
}
