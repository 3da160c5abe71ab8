/**
 * "Resize locally": the backend's render function run in this process with
 * the batch's output options, so the files written are byte-for-byte what
 * the cluster returns for the same options, with no cluster at all. Files
 * are named and placed as downloads are (outputRelativePath: the template,
 * the dropped folders when keepFolders) under the batch's collision policy,
 * each with its original's modification time unless keepDates is off (the
 * EXIF dates travel inside the file with metadata `keep`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { outputRelativePath, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import { decodeHeifOffThread, DEFAULT_RULES, optionsFromRules, renderImage, type ResizeRules } from '@imgfleet/backend/imaging';
import type { FileRef, WriteOutcome, WriteSummary } from '../../shared/models.js';
import { errorInfo } from './app-error.js';
import { mapLimit } from './limiter.js';
import { writeOutput } from './output-writer.js';

export interface LocalResizeOptions {
  folder: string;
  /** The batch's options; without them the rules' box and quality (the earlier behaviour). */
  options?: OutputOptions;
  /** Overrides the options' naming template (the earlier callers'). */
  template?: string;
  /** Input limits (max pixels, max bytes), and the box when no options are given. */
  rules?: ResizeRules;
  /** For the {batch} token. */
  batch?: string;
  /** Full decodes of 12-MP photos are memory-heavy: keep this small. */
  concurrency?: number;
  /** Give each result its original's modification time (default true): a photo library sorts by it. */
  keepDates?: boolean;
  onResult?: (outcome: WriteOutcome) => void;
  signal?: AbortSignal;
}

function effectiveOptions(options: LocalResizeOptions): OutputOptions {
  const base = options.options ?? optionsFromRules(options.rules ?? DEFAULT_RULES);
  return options.template === undefined ? base : { ...base, template: options.template };
}

export async function resizeOneLocally(file: FileRef, options: LocalResizeOptions, index = 1): Promise<WriteOutcome> {
  try {
    options.signal?.throwIfAborted();
    const output = effectiveOptions(options);
    const [bytes, stat] = await Promise.all([fs.readFile(file.path), fs.stat(file.path)]);
    // HEIF is decoded in a thread of its own: this is the app's main process.
    const result = await renderImage(bytes, output, options.rules ?? DEFAULT_RULES, { decodeHeif: decodeHeifOffThread });
    const relative = outputRelativePath(output, {
      path: file.relativePath ?? path.basename(file.path),
      width: result.width,
      height: result.height,
      index,
      id: 'local',
      ...(options.batch === undefined ? {} : { batch: options.batch }),
    });
    const times = options.keepDates === false ? undefined : { atime: stat.atime, mtime: stat.mtime };
    const written = await writeOutput(options.folder, relative, result.data, output.collision, times);
    return {
      key: file.key,
      ok: true,
      path: written.path,
      width: result.width,
      height: result.height,
      bytes: result.data.length,
      ...(output.maxBytes != null ? { quality: result.quality } : {}),
      ...(written.skipped ? { skipped: true } : {}),
    };
  } catch (err) {
    const info = errorInfo(err);
    return { key: file.key, ok: false, error: info.message, code: info.code };
  }
}

export async function resizeLocally(files: readonly FileRef[], options: LocalResizeOptions): Promise<WriteSummary> {
  const indexed = files.map((file, i) => ({ file, index: i + 1 }));
  const results = await mapLimit(indexed, options.concurrency ?? 2, async ({ file, index }) => {
    const outcome = await resizeOneLocally(file, options, index);
    options.onResult?.(outcome);
    return outcome;
  });
  const written = results.filter((r) => r.ok && !r.skipped).length;
  return { folder: options.folder, written, failed: results.filter((r) => !r.ok).length, results };
}
