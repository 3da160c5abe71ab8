/**
 * maxBytes: the highest quality whose file fits the target. The image is
 * decoded and resized once, to sRGB pixels, and only the encoder runs again
 * for each quality tried: a bounded search on a ladder of qualities QUALITY_STEP
 * apart, from the options' quality (the highest tried) down to 1.
 *
 * The first try is the options' quality itself (most photos fit: one
 * encode, as without maxBytes); otherwise a binary search over the rest of
 * the ladder finds the highest rung that fits, assuming the size falls with
 * the quality (true of JPEG, WebP and AVIF but for rare single-step
 * wobbles: a rung is only ever chosen from a result that was measured to
 * fit, so the target is never exceeded). At most maxEncodePasses(options)
 * encodes: 6 for a ceiling of 100 or 85, 5 for AVIF's default 50.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import type { OutputOptions } from '../contract/output-options.js';
import { applyOutput } from './encode.js';
import { ImageError } from './errors.js';

/** Qualities tried are this far apart: the result is within one step of the best. */
export const QUALITY_STEP = 5;

/** The qualities maxBytes may choose, highest first: the ceiling, then down by QUALITY_STEP, then 1. */
export function qualityLadder(ceiling: number): number[] {
  const ladder: number[] = [];
  for (let q = ceiling; q > 1; q -= QUALITY_STEP) ladder.push(q);
  ladder.push(1);
  return ladder;
}

/**
 * The most encodes a render with these options makes: 1 without maxBytes;
 * with it, the first try plus a binary search over the other rungs.
 */
export function maxEncodePasses(options: Pick<OutputOptions, 'quality' | 'maxBytes'>): number {
  if (options.maxBytes == null) return 1;
  const rungs = qualityLadder(options.quality).length;
  return rungs <= 1 ? 1 : 1 + Math.ceil(Math.log2(rungs));
}

export interface SearchResult {
  data: Buffer;
  width: number;
  height: number;
  /** The quality the result was encoded at. */
  quality: number;
  /** Encodes made (≤ maxEncodePasses). */
  encodes: number;
}

export interface SearchControl {
  /** The whole search's time limit in seconds (0: none); each encode gets what is left. */
  timeoutSeconds: number;
  /** Turns a sharp failure into the image's error (TIMEOUT or CORRUPT_IMAGE). */
  failure: (err: unknown) => ImageError;
}

const KiB = 1024;
const size = (bytes: number): string => (bytes >= 1024 * KiB ? `${(bytes / 1024 / KiB).toFixed(2)} MiB` : `${(bytes / KiB).toFixed(1)} KiB`);

/**
 * Encodes the oriented, resized `image` (a pipeline not yet encoded) at the
 * highest ladder quality whose file is at most options.maxBytes. Fails with
 * TARGET_SIZE_UNREACHABLE, naming both sizes, when even quality 1 is larger.
 */
export async function encodeWithinBytes(image: Sharp, options: OutputOptions, exif: Buffer | undefined, control: SearchControl): Promise<SearchResult> {
  const target = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const started = Date.now();
  const remaining = (): number => {
    if (control.timeoutSeconds <= 0) return 0;
    const left = control.timeoutSeconds - (Date.now() - started) / 1000;
    if (left <= 0) throw new ImageError('TIMEOUT', `processing took longer than the limit of ${control.timeoutSeconds} s (searching the quality for maxBytes)`);
    return Math.max(1, Math.ceil(left));
  };

  let pixels: { data: Buffer; info: OutputInfo };
  try {
    let staged = image;
    if (options.format === 'jpeg') staged = staged.flatten({ background: options.background });
    const seconds = remaining();
    if (seconds > 0) staged = staged.timeout({ seconds });
    pixels = await staged.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw err instanceof ImageError ? err : control.failure(err);
  }
  const { width, height, channels } = pixels.info;
  let encodes = 0;
  const encodeAt = async (quality: number): Promise<Buffer> => {
    encodes++;
    let out = applyOutput(sharp(pixels.data, { raw: { width, height, channels } }), { ...options, quality }, exif);
    const seconds = remaining();
    if (seconds > 0) out = out.timeout({ seconds });
    try {
      return await out.toBuffer();
    } catch (err) {
      throw control.failure(err);
    }
  };

  // The ladder's top rung is the options' quality.
  const first = await encodeAt(options.quality);
  if (first.length <= target) return { data: first, width, height, quality: options.quality, encodes };
  // The rest, ascending; find the highest that fits (lo), -1 when none does.
  const rest = qualityLadder(options.quality).slice(1).reverse();
  let lo = -1;
  let hi = rest.length;
  let best: Buffer | null = null;
  let smallest = first.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    // lo < mid < hi ≤ rest.length: mid is a rung.
    const data = await encodeAt(rest[mid]!);
    smallest = Math.min(smallest, data.length);
    if (data.length <= target) {
      lo = mid;
      best = data;
    } else hi = mid;
  }
  if (lo < 0 || !best) {
    throw new ImageError(
      'TARGET_SIZE_UNREACHABLE',
      `even at quality 1 the result is ${size(smallest)} (${width}x${height} ${options.format.toUpperCase()}), above the target of ${size(target)}: choose a smaller size or a larger target`,
    );
  }
  return { data: best, width, height, quality: rest[lo]!, encodes }; // lo ≥ 0 here: a rung
}
