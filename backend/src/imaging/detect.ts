/**
 * Image type detection from magic bytes. The file name and the client's
 * declared content type are never trusted: a `.jpg` that is really a PNG is
 * a PNG, and a text file named `photo.jpg` is rejected as unsupported.
 * No Node imports: the web page and the desktop's renderer use it too.
 */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'heif' | 'tiff' | 'gif';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  // Only HEVC-coded HEIF is decoded (what phones write): that is image/heic.
  heif: 'image/heic',
  tiff: 'image/tiff',
  gif: 'image/gif',
};

/** What a person is told is accepted (in refusals and the apps' notices). */
export const ACCEPTED_TYPES_TEXT = 'JPEG, PNG, WebP, HEIC/HEIF, TIFF or GIF';

/** Bytes enough for every signature here (a HEIF's brand is at bytes 8–11). */
export const MAGIC_BYTES = 12;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * HEIF major brands of HEVC images and sequences (what phones write), and
 * the structural brands mif1/msf1 a HEIC may carry as its major brand. An
 * AVIF (brand `avif`, AV1-coded) is not among them.
 */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((b, i) => bytes[offset + i] === b);
}

function ascii(bytes: Uint8Array, offset: number, text: string): boolean {
  return startsWith(
    bytes,
    Array.from(text, (c) => c.charCodeAt(0)),
    offset,
  );
}

function text(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

export function detectFormat(bytes: Uint8Array): ImageFormat | null {
  // JPEG: SOI marker followed by the start of another marker.
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  // WebP: a RIFF container whose form type is WEBP.
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'webp';
  // HEIF: an ISO-BMFF file whose first box is `ftyp` with a HEVC brand.
  if (bytes.length >= 12 && ascii(bytes, 4, 'ftyp') && HEIF_BRANDS.has(text(bytes, 8, 4))) return 'heif';
  // TIFF (and BigTIFF): byte order, then 42 (43).
  if (ascii(bytes, 0, 'II') && (startsWith(bytes, [0x2a, 0x00], 2) || startsWith(bytes, [0x2b, 0x00], 2))) return 'tiff';
  if (ascii(bytes, 0, 'MM') && (startsWith(bytes, [0x00, 0x2a], 2) || startsWith(bytes, [0x00, 0x2b], 2))) return 'tiff';
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return 'gif';
  return null;
}
