/**
 * What decoding an image costs, judged from its header alone, so the server
 * can admit images by the memory their decode needs rather than by their
 * file size (a 779 KB interlaced 16-bit PNG decodes to 800 MB), and give
 * each image a processing time limit in proportion to that work.
 *
 * The memory figure is the whole decoded image: width × height × channels ×
 * bytes per channel. That is exact for what cannot stream (an interlaced PNG
 * is decoded whole before the first row is available; a quarter-turn EXIF
 * orientation needs the whole image too) and a safe bound for what can
 * (baseline JPEG with shrink-on-load streams a fraction of it). Palette
 * images count as the RGB(A) they decode to.
 */

export interface DecodeHeader {
  width: number;
  height: number;
  /** Bands once decoded: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK. */
  channels: number;
  /** libvips' band format: `uchar` (8-bit), `ushort` (16-bit), `float`… */
  depth?: string | undefined;
  /** Bits per sample where the format says so (PNG: 1, 2, 4, 8, 16). */
  bitsPerSample?: number | undefined;
}

const BYTES_PER_BAND: Readonly<Record<string, number>> = Object.freeze({
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
});

/** Bytes per channel once decoded: 16-bit samples take two, anything up to 8 bits one. */
export function bytesPerChannel(header: Pick<DecodeHeader, 'depth' | 'bitsPerSample'>): number {
  const fromDepth = header.depth !== undefined ? BYTES_PER_BAND[header.depth] : undefined;
  if (fromDepth !== undefined) return fromDepth;
  return (header.bitsPerSample ?? 8) > 8 ? 2 : 1;
}

/** Bytes of memory the decode of this image needs. */
export function decodeMemoryBytes(header: DecodeHeader): number {
  return header.width * header.height * Math.max(1, header.channels) * bytesPerChannel(header);
}

export interface TimeLimitSettings {
  /** Allowed for any image, whatever its size. */
  baseMs: number;
  /** Added per MiB of decoded pixels (see decodeMemoryBytes). */
  perDecodedMiBMs: number;
}

/**
 * A 12-MP photo (36 MiB decoded) takes ~0.5 s on one core: 5 s plus 8 ms per
 * decoded MiB leaves it ten times that, gives a 10000x10000 16-bit RGBA PNG
 * (763 MiB) ~11 s, and stops a 1×10,000,000 PNG (29 MiB, but ten million
 * rows, ~5–10 s of decoding) after ~5 s.
 */
export const DEFAULT_TIME_LIMIT: Readonly<TimeLimitSettings> = Object.freeze({ baseMs: 5000, perDecodedMiBMs: 8 });

/** The processing time limit for an image whose decode needs `decodeBytes`. */
export function processingTimeLimitMs(decodeBytes: number, settings: TimeLimitSettings = DEFAULT_TIME_LIMIT): number {
  return Math.ceil(settings.baseMs + (decodeBytes / (1024 * 1024)) * settings.perDecodedMiBMs);
}
