/**
 * The sizes a job works with, from its header and options alone (what the
 * admission knows before decoding): the cost model's inputs.
 */
import { jpegShrinkOnLoad, targetSize } from '../../src/imaging/index.js';
import type { OutputOptions } from '../../src/contract/output-options.js';
import type { InputFile } from './inputs.js';

export interface JobShape {
  inputPixels: number;
  /** The decoder's scale: JPEG 1, 2, 4 or 8; WebP any factor ≥ 1; PNG 1. */
  shrinkOnLoad: number;
  /** Pixels the decoder delivers (after shrink-on-load). */
  decodedPixels: number;
  /** decodedPixels × bands × bytes per sample. */
  decodedBytes: number;
  /** The image after the resize, before `cover` crops it to the box. */
  resizedPixels: number;
  /** What the encoder gets (the box's pixels bound it). */
  outputPixels: number;
  outputBands: number;
}

const BYTES_PER_SAMPLE: Readonly<Record<string, number>> = { uchar: 1, ushort: 2 };

function shrinkOf(width: number, height: number, o: Pick<OutputOptions, 'width' | 'height' | 'fit' | 'enlarge'>): number {
  const hs = width / o.width;
  const vs = height / o.height;
  const s = o.fit === 'cover' ? Math.min(hs, vs) : Math.max(hs, vs);
  return o.enlarge ? s : Math.max(1, s);
}

/**
 * sharp's shrink-on-load. Measured: an EXIF-rotated JPEG is still decoded
 * at 1/2–1/8 (its 800x600 job costs what the unrotated one does), although
 * sharp's source skips the pre-shrink when it orients before resizing.
 */
function loadShrink(input: InputFile, shrink: number): number {
  if (input.kind.startsWith('jpeg')) return jpegShrinkOnLoad(shrink);
  if (input.kind.startsWith('webp') && shrink > 1) return shrink;
  return 1;
}

export function shapeOf(input: InputFile, options: OutputOptions): JobShape {
  const quarter = input.orientation !== undefined && input.orientation >= 5;
  const [w, h] = quarter ? [input.height, input.width] : [input.width, input.height];
  const shrink = shrinkOf(w, h, options);
  const shrinkOnLoad = loadShrink(input, shrink);
  const decodedPixels = Math.round(w / shrinkOnLoad) * Math.round(h / shrinkOnLoad);
  const out = targetSize({ width: input.width, height: input.height, format: input.kind.split('-')[0], orientation: input.orientation }, options);
  const resizedPixels = Math.round(w / shrink) * Math.round(h / shrink);
  // JPEG has no alpha (flattened); the others keep the input's.
  const outputBands = options.format === 'jpeg' ? 3 : input.channels;
  return {
    inputPixels: input.width * input.height,
    shrinkOnLoad,
    decodedPixels,
    decodedBytes: decodedPixels * input.channels * (BYTES_PER_SAMPLE[input.depth] ?? 1),
    resizedPixels,
    outputPixels: out.width * out.height,
    outputBands,
  };
}
