/**
 * Image type detection from magic bytes. The file name and the client's
 * declared content type are never trusted: a `.jpg` that is really a PNG is
 * a PNG, and a text file named `photo.jpg` is rejected as unsupported.
 */
export type ImageFormat = 'jpeg' | 'png' | 'webp';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((b, i) => bytes[offset + i] === b);
}

function ascii(bytes: Uint8Array, offset: number, text: string): boolean {
  return startsWith(bytes, [...text].map((c) => c.charCodeAt(0)), offset);
}

export function detectFormat(bytes: Uint8Array): ImageFormat | null {
  // JPEG: SOI marker followed by the start of another marker.
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  // WebP: a RIFF container whose form type is WEBP.
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'webp';
  return null;
}
