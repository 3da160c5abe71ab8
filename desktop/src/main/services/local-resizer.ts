/**
 * "Resize locally": the backend's resize function run in this process, so
 * the files written are byte-for-byte what the cluster would return, with no
 * cluster at all. Files are named with the same template as downloads.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEFAULT_RULES, resizeImage, type ResizeRules } from '@imgfleet/backend/imaging';
import { renderName, splitName } from '../../shared/naming-template.js';
import type { FileRef, WriteOutcome, WriteSummary } from '../../shared/models.js';
import { errorInfo } from './app-error.js';
import { mapLimit } from './limiter.js';
import { writeUnique } from './output-writer.js';

export interface LocalResizeOptions {
  folder: string;
  template: string;
  rules?: ResizeRules;
  /** Full decodes of 12-MP photos are memory-heavy: keep this small. */
  concurrency?: number;
  onResult?: (outcome: WriteOutcome) => void;
  signal?: AbortSignal;
}

export async function resizeOneLocally(file: FileRef, options: LocalResizeOptions): Promise<WriteOutcome> {
  try {
    options.signal?.throwIfAborted();
    const bytes = await fs.readFile(file.path);
    const result = await resizeImage(bytes, options.rules ?? DEFAULT_RULES);
    const { base, ext } = splitName(path.basename(file.path));
    const name = renderName(options.template, {
      name: base,
      ext,
      width: result.width,
      height: result.height,
      id: 'local',
    });
    const written = await writeUnique(options.folder, name, result.data);
    return { key: file.key, ok: true, path: written, width: result.width, height: result.height };
  } catch (err) {
    const info = errorInfo(err);
    return { key: file.key, ok: false, error: info.message, code: info.code };
  }
}

export async function resizeLocally(files: readonly FileRef[], options: LocalResizeOptions): Promise<WriteSummary> {
  const results = await mapLimit(files, options.concurrency ?? 2, async (file) => {
    const outcome = await resizeOneLocally(file, options);
    options.onResult?.(outcome);
    return outcome;
  });
  const written = results.filter((r) => r.ok).length;
  return { folder: options.folder, written, failed: results.length - written, results };
}
