/**
 * Everything about a file that needs no database: size, type by content,
 * header, pixel count, and what its job will need (imaging/job-cost.ts:
 * decode, resize and encode memory; CPU work) against this server's memory
 * budget: a file whose job can never fit is refused at once, with the figures.
 */
import { CONTENT_TYPES, detectFormat, isImageError, readHeader, type ResizeRules } from '../../imaging/index.js';
import { describeMemory, jobCost, resizedBeforeCrop, tooMuchMemoryMessage } from '../../imaging/job-cost.js';
import { maxEncodePasses } from '../../imaging/target-bytes.js';
import type { StagedBlob } from '../../blobs/blob-store.js';
import type { OutputOptions } from '../../contract/output-options.js';
import type { IngestImage } from '../../queue/ingest.js';

/** A part as received: its first bytes, its size, and where it was stored. */
export interface ReceivedFile {
  head: Buffer;
  size: number;
  truncated: boolean;
  /** The stored original; absent when nothing was kept (over the size limit). */
  original: StagedBlob | undefined;
  /** The whole file, for the rare header that does not fit in `head` (a TIFF's directory at its end). */
  whole: () => Promise<Buffer>;
}

export type CheckedFile = { ok: true; image: IngestImage } | { ok: false; code: string; error: string; contentType: string | null };

const MiB = 1024 * 1024;

/** The header from the first bytes, else from the whole file when the first bytes were not enough. */
async function headerOf(file: ReceivedFile, rules: ResizeRules, options: OutputOptions) {
  try {
    return await readHeader(file.head, rules, options);
  } catch (err) {
    if (!isImageError(err) || err.code !== 'CORRUPT_IMAGE' || file.head.length >= file.size) throw err;
    return readHeader(await file.whole(), rules, options);
  }
}

export async function checkFile(
  file: ReceivedFile,
  meta: { batchId: string; filename: string; sourcePath: string | null; options: OutputOptions },
  rules: ResizeRules,
  memoryBudgetBytes: number,
): Promise<CheckedFile> {
  if (file.truncated || !file.original) {
    return {
      ok: false,
      code: 'FILE_TOO_LARGE',
      error: `the file is larger than the limit of ${(rules.maxBytes / MiB).toFixed(1)} MiB`,
      contentType: null,
    };
  }
  try {
    const header = await headerOf(file, rules, meta.options);
    const contentType = CONTENT_TYPES[header.format];
    const resized = resizedBeforeCrop(header.oriented, meta.options, header.target);
    const cost = jobCost({ ...header, fileBytes: file.size }, { options: meta.options, target: header.target, resized }, maxEncodePasses(meta.options));
    if (cost.memoryBytes > memoryBudgetBytes) {
      return {
        ok: false,
        code: 'TOO_MUCH_MEMORY',
        error: tooMuchMemoryMessage(
          `this ${header.width}x${header.height} image to ${header.target.width}x${header.target.height} ${meta.options.format.toUpperCase()}`,
          describeMemory(cost, meta.options.format),
          memoryBudgetBytes,
        ),
        contentType,
      };
    }
    return {
      ok: true,
      image: {
        ...meta,
        contentType,
        original: file.original,
        width: header.oriented.width,
        height: header.oriented.height,
        decodeBytes: header.decodeBytes,
        cost: { memoryBytes: cost.memoryBytes, cpuMs: cost.cpuMs },
      },
    };
  } catch (err) {
    if (!isImageError(err)) throw err;
    const format = detectFormat(file.head);
    return { ok: false, code: err.code, error: err.message, contentType: format ? CONTENT_TYPES[format] : null };
  }
}
