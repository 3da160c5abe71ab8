/**
 * Previews in a plain browser, with the backend's own rules for the promised
 * size ("4000×3000 → 800×600"). The page must stay responsive while a
 * hundred 12-MP photos are added, so:
 * - the size comes from the JPEG header (a few KiB read), which also lets a
 *   decompression bomb be refused before anything is decoded;
 * - createImageBitmap decodes off the main thread, asked straight for the
 *   preview's size (resizeWidth/resizeHeight), so a full-size bitmap is
 *   never made for a JPEG; other formats (a PNG named .jpg) are decoded in
 *   full, then scaled;
 * - the small bitmap is encoded on an OffscreenCanvas (convertToBlob is
 *   asynchronous; PNG for what may be transparent) and shown through a
 *   blob: URL, no base64 string;
 * - two decodes at a time.
 * A browser decodes neither HEIC nor TIFF: their size and orientation come
 * from their header (image-header.ts), checked against the limits like the
 * others, and the card shows a labelled placeholder; the server decodes them.
 */
import { formatBytes } from '../../shared/sizes.js';
import type { PreviewResult } from './platform.js';
import { ACCEPTED_TYPES_TEXT, DEFAULT_RULES, detectFormat, fitInside, orientedSize, type ResizeRules, type Size } from './imaging-rules.js';
import { readHeifHeader, readTiffDirectory, tiffDirectoryOffset, type HeaderSize } from './image-header.js';
import { readJpegHeader } from './jpeg-header.js';

/** Longest side of the preview, as on the desktop. */
export const PREVIEW_BOX = 320;
/** Enough for the APPn segments (EXIF with its thumbnail, ICC profile) before a camera JPEG's frame header. */
const HEADER_BYTES = 256 * 1024;
const DECODES_AT_ONCE = 2;

export async function makePreview(file: File, key: string, rules: Readonly<ResizeRules> = DEFAULT_RULES): Promise<PreviewResult> {
  const fail = (code: string, error: string): PreviewResult => ({ ok: false, path: key, bytes: file.size, error, code });
  if (file.size === 0) return fail('EMPTY_FILE', 'the file is empty');
  // Same wording as the desktop's previewer (sizes in the app's decimal units).
  if (file.size > rules.maxBytes) return fail('FILE_TOO_LARGE', `the file is ${formatBytes(file.size)}, above the limit of ${formatBytes(rules.maxBytes)}`);
  const head = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  const format = detectFormat(head);
  if (format === null) return fail('UNSUPPORTED_TYPE', `not a ${ACCEPTED_TYPES_TEXT} image (judged by its content, not its name)`);
  const tooManyPixels = (size: Size): PreviewResult | null =>
    size.width * size.height > rules.maxPixels
      ? fail(
          'TOO_MANY_PIXELS',
          `${size.width}x${size.height} is ${((size.width * size.height) / 1e6).toFixed(1)} megapixels, above the limit of ${(rules.maxPixels / 1e6).toFixed(1)}`,
        )
      : null;

  if (format === 'heif' || format === 'tiff') {
    const told = format === 'heif' ? readHeifHeader(head) : await readTiffSize(file, head);
    if (!told) return fail('CORRUPT_IMAGE', `corrupt or unreadable ${format === 'heif' ? 'HEIF' : 'TIFF'} header`);
    const shown = orientedSize(told, told.orientation);
    const refused = tooManyPixels(shown);
    if (refused) return refused;
    return {
      ok: true,
      path: key,
      dataUrl: placeholder(format === 'heif' ? 'HEIC' : 'TIFF', shown),
      format,
      bytes: file.size,
      original: shown,
      target: fitInside(shown, rules),
      standIn: true,
    };
  }

  const header = format === 'jpeg' ? readJpegHeader(head) : null;
  let original: Size;
  let bitmap: ImageBitmap;
  try {
    if (header) {
      original = orientedSize(header, header.orientation);
      const refused = tooManyPixels(original);
      if (refused) return refused;
      const thumb = fitInside(original, { maxWidth: PREVIEW_BOX, maxHeight: PREVIEW_BOX });
      // The resize applies to the oriented image (EXIF applied, like the backend's autoOrient).
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', resizeWidth: thumb.width, resizeHeight: thumb.height, resizeQuality: 'medium' });
    } else {
      const full = await createImageBitmap(file, { imageOrientation: 'from-image' });
      original = { width: full.width, height: full.height };
      const refused = tooManyPixels(original);
      if (refused) {
        full.close();
        return refused;
      }
      const thumb = fitInside(original, { maxWidth: PREVIEW_BOX, maxHeight: PREVIEW_BOX });
      bitmap = await createImageBitmap(full, { resizeWidth: thumb.width, resizeHeight: thumb.height, resizeQuality: 'medium' }).finally(() => full.close());
    }
  } catch {
    // The browser decodes the whole image even for a small bitmap, so a truncated file fails here.
    return fail('CORRUPT_IMAGE', 'corrupt or truncated image data (the browser could not decode it)');
  }

  let blob: Blob;
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    if (!context) return fail('INTERNAL', 'no 2D canvas available for the preview');
    context.drawImage(bitmap, 0, 0);
    // A JPEG has no transparency; a PNG or WebP may: kept, so the card shows it on the background the result will have.
    blob = await canvas.convertToBlob(format === 'jpeg' ? { type: 'image/jpeg', quality: 0.75 } : { type: 'image/png' });
  } finally {
    bitmap.close();
  }
  return { ok: true, path: key, dataUrl: URL.createObjectURL(blob), format, bytes: file.size, original, target: fitInside(original, rules) };
}

/** A TIFF's directory, read from wherever in the file it is (a few KiB). */
async function readTiffSize(file: File, head: Uint8Array): Promise<HeaderSize | null> {
  const at = tiffDirectoryOffset(head);
  if (!at || at.offset >= file.size) return null;
  return readTiffDirectory(new Uint8Array(await file.slice(at.offset, at.offset + 64 * 1024).arrayBuffer()), at.little);
}

/** A thumbnail-sized card for what the browser cannot draw: the format and the size, as an SVG data: URL (the CSP's img-src allows data:). */
function placeholder(label: string, size: Size): string {
  const thumb = fitInside(size, { maxWidth: PREVIEW_BOX, maxHeight: PREVIEW_BOX });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${thumb.width}" height="${thumb.height}"><rect width="100%" height="100%" fill="#e4e7ec"/><text x="50%" y="50%" font-family="sans-serif" font-size="20" fill="#475467" text-anchor="middle" dominant-baseline="middle">${label} · preview after upload</text></svg>`;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** Runs at most `limit` tasks at once, in the order they were asked for. */
export function createSlots(limit = DECODES_AT_ONCE): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next task: running stays the same.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
