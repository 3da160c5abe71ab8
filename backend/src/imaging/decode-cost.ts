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
  /** Added per megapixel of the output box, by format: encoders differ by 40x (AVIF is the slowest). */
  perOutputMegapixelMs: Readonly<Record<'jpeg' | 'webp' | 'avif' | 'png', number>>;
}

/**
 * A 12-MP photo (36 MiB decoded) to 800x600 JPEG takes ~0.5 s of one core:
 * 5 s plus 8 ms per decoded MiB plus the encoder's share leaves it ten
 * times that, gives a 10000x10000 16-bit RGBA PNG (763 MiB) ~11 s, and stops
 * a 1x10,000,000 PNG (10 MB decoded, but ten million rows: 5-10 s of
 * decoding) after ~5 s. AVIF's encoder gets ~4 s per output megapixel (it
 * measured 0.4 s for 800x600 on an idle core, ten times that on a loaded one).
 */
export const DEFAULT_TIME_LIMIT: Readonly<TimeLimitSettings> = Object.freeze({
  baseMs: 5000,
  perDecodedMiBMs: 8,
  perOutputMegapixelMs: Object.freeze({ jpeg: 100, webp: 1000, avif: 8000, png: 1000 }),
});

/** What the encoder will make: the box's pixels bound the output's. */
export interface OutputCost {
  pixels: number;
  format: 'jpeg' | 'webp' | 'avif' | 'png';
}

/** The processing time limit for an image whose decode needs `decodeBytes`, encoded as `output`. */
export function processingTimeLimitMs(decodeBytes: number, settings: TimeLimitSettings = DEFAULT_TIME_LIMIT, output?: OutputCost): number {
  const encodeMs = output ? (output.pixels / 1e6) * settings.perOutputMegapixelMs[output.format] : 0;
  return Math.ceil(settings.baseMs + (decodeBytes / (1024 * 1024)) * settings.perDecodedMiBMs + encodeMs);
}
