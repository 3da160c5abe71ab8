/**
 * Everything about a file that needs no database: size, type by content,
 * header, pixel count, and the memory its decode needs against the decode
 * budget (a file that can never fit is refused at once, with the figures).
 */
import { CONTENT_TYPES, detectFormat, isImageError, readHeader, type ResizeRules } from '../../imaging/index.js';
import type { OutputOptions } from '../../contract/output-options.js';
import type { IngestImage } from '../../queue/ingest.js';

export type CheckedFile =
  | { ok: true; image: IngestImage }
  | { ok: false; code: string; error: string; contentType: string | null };

const MiB = 1024 * 1024;

export async function checkFile(
  bytes: Buffer,
  truncated: boolean,
  meta: { batchId: string; filename: string; sourcePath: string | null; options: OutputOptions },
  rules: ResizeRules,
  decodeBudgetBytes: number,
): Promise<CheckedFile> {
  if (truncated) {
    return {
      ok: false,
      code: 'FILE_TOO_LARGE',
      error: `the file is larger than the limit of ${(rules.maxBytes / MiB).toFixed(1)} MiB`,
      contentType: null,
    };
  }
  try {
    const header = await readHeader(bytes, rules, meta.options);
    const contentType = CONTENT_TYPES[header.format];
    const { decodeBytes } = header;
    if (decodeBytes > decodeBudgetBytes) {
      return {
        ok: false,
        code: 'TOO_MUCH_MEMORY',
        error: `decoding this ${header.width}x${header.height} image needs ${Math.ceil(decodeBytes / MiB)} MiB of memory, more than this server's budget of ${Math.floor(decodeBudgetBytes / MiB)} MiB (DECODE_MEMORY_MB)`,
        contentType,
      };
    }
    return {
      ok: true,
      image: {
        ...meta,
        contentType,
        data: bytes,
        width: header.oriented.width,
        height: header.oriented.height,
        decodeBytes,
      },
    };
  } catch (err) {
    if (!isImageError(err)) throw err;
    const format = detectFormat(bytes);
    return { ok: false, code: err.code, error: err.message, contentType: format ? CONTENT_TYPES[format] : null };
  }
}
