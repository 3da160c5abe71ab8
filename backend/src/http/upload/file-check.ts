/**
 * Everything about a file that needs no database: size, type by content,
 * header, pixel count, and the memory its decode needs against the decode
 * budget (a file that can never fit is refused at once, with the figures).
 */
import sharp from 'sharp';
import { CONTENT_TYPES, detectFormat, isImageError, readHeader, type ResizeRules } from '../../imaging/index.js';
import type { IngestImage } from '../../queue/ingest.js';

export type CheckedFile =
  | { ok: true; image: IngestImage }
  | { ok: false; code: string; error: string; contentType: string | null };

const MiB = 1024 * 1024;

/** Bytes the decode needs: width × height × bands × bytes per band. */
async function decodeBytesOf(bytes: Buffer): Promise<number> {
  const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  const bands = meta.isPalette ? (meta.hasAlpha ? 4 : 3) : (meta.channels ?? 3);
  const perBand = meta.depth === 'ushort' || meta.depth === 'short' ? 2 : meta.depth === 'float' || meta.depth === 'uint' || meta.depth === 'int' ? 4 : meta.depth === 'double' ? 8 : 1;
  return (meta.width ?? 0) * (meta.height ?? 0) * bands * perBand;
}

export async function checkFile(
  bytes: Buffer,
  truncated: boolean,
  meta: { batchId: string; filename: string },
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
    const header = await readHeader(bytes, rules);
    const contentType = CONTENT_TYPES[header.format];
    const decodeBytes = await decodeBytesOf(bytes);
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
