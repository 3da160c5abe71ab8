/**
 * A JPEG's size and EXIF orientation, read from its first bytes. The browser
 * adapter needs the size before decoding: to refuse a decompression bomb
 * without decoding it, and to ask createImageBitmap for a preview-sized
 * bitmap directly (the decoder can then scale while decoding instead of
 * producing a 12-MP bitmap first).
 */

export interface JpegHeader {
  /** As stored, before the EXIF orientation is applied. */
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
}

/** Start-of-frame markers carry the size: C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
const isStartOfFrame = (marker: number): boolean => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * null when `bytes` is not a JPEG or the frame header lies beyond them (a
 * camera's APPn segments can be large): the caller then decodes in full.
 */
export function readJpegHeader(bytes: Uint8Array): JpegHeader | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let orientation = 1;
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null;
    const marker = bytes[pos + 1]!;
    // Fill bytes (0xFF repeated) may precede a marker.
    if (marker === 0xff) {
      pos++;
      continue;
    }
    // Markers without a length: TEM and the restart markers.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    // Start of scan or end of image before any frame header: not a usable JPEG.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = view.getUint16(pos + 2);
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      if (pos + 9 > bytes.length) return null;
      const height = view.getUint16(pos + 5);
      const width = view.getUint16(pos + 7);
      return width > 0 && height > 0 ? { width, height, orientation } : null;
    }
    if (marker === 0xe1) orientation = exifOrientation(bytes, pos + 4, Math.min(bytes.length, pos + 2 + length)) ?? orientation;
    pos += 2 + length;
  }
  return null;
}

/** The Orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment spanning [start, end). */
function exifOrientation(bytes: Uint8Array, start: number, end: number): number | null {
  const isExif = end - start >= 14 && [0x45, 0x78, 0x69, 0x66, 0, 0].every((b, i) => bytes[start + i] === b);
  if (!isExif) return null;
  const tiff = start + 6;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return null;
  const little = order === 0x4949;
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return null;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return null;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}
