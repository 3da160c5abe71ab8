/**
 * What one resize job costs, judged before any pixel is decoded: the memory
 * it needs at its peak (decode + resize + encode) and the CPU work it
 * represents. The server admits jobs to its threads by the first, so the sum
 * in flight stays under the pod's memory, and gives each job a time limit in
 * proportion to the second.
 *
 * Every constant below was measured with sharp/libvips by
 * `backend/bench/job-cost.ts` (78 single jobs, each in a fresh process: peak
 * RSS above the process's baseline, CPU time of all its threads) and fitted
 * by weighted least squares; the README's budget table lists the cases. The
 * memory fit came within ×0.75–1.27 of every job and N concurrent jobs
 * measured 0.82–1.06 × N × one: the ×1.3 margin covers them. CPU is in
 * milliseconds on the machine the bench ran on (MACHINE_REFERENCE says how
 * fast that was), within ×1.35 at p95; time limits multiply it by a slack.
 */
import type { OutputFormat, OutputOptions } from '../contract/output-options.js';
import { jpegShrinkOnLoad, type Size } from './rules.js';

const MiB = 1024 * 1024;
const MP = 1e6;

/** What the model needs to know about the input, all from its header. */
export interface JobInput {
  /** Stored size (before the EXIF orientation). */
  width: number;
  height: number;
  format: string;
  /** EXIF orientation 1–8. */
  orientation?: number | undefined;
  /** Adam7 PNG or progressive JPEG: decoded whole. */
  interlaced: boolean;
  /** Bands once decoded, and bytes per band. */
  channels: number;
  bytesPerChannel: number;
  /** The whole decoded image, bytes (decode-cost.ts); the decoders that never stream (HEIF) report what they need here. */
  decodeBytes: number;
  /** The file's size: the worker holds it in memory while it decodes. */
  fileBytes: number;
}

export interface JobCost {
  /** Peak memory the job needs, bytes, margin included. */
  memoryBytes: number;
  /** The parts of that figure (before the margin), for the error a refused job gets. */
  parts: { input: number; decode: number; encoder: number; other: number };
  /** CPU work on the reference machine, ms of one core. */
  cpuMs: number;
  /** How many times the encoder runs (a target size searches for a quality). */
  encodes: number;
}

/** What a job's output is: its options, its size, and (for `cover`) the size before the crop. */
export interface JobOutput {
  options: Pick<OutputOptions, 'format' | 'quality' | 'progressive' | 'mozjpeg' | 'fit' | 'position' | 'enlarge'>;
  target: Size;
  /** The resized image before a `cover` crop (what attention scans); defaults to `target`. */
  resized?: Size;
  /** Bands of the output: 3 for JPEG (alpha flattened), else the input's. */
  bands?: number;
}

/** Memory the fit needs: the measured factor × the decoded bytes, per decoder. */
const DECODE_FACTOR: Readonly<Record<string, number>> = Object.freeze({ jpeg: 0.54, png: 0.64, webp: 2.02 });
/** A decoder that holds the whole image (interlaced PNG, TIFF, GIF): as the interlaced PNG measured. */
const WHOLE_IMAGE_FACTOR = 1.42;
/** A progressive JPEG's coefficient buffer: per input pixel, whatever the shrink. */
const PROGRESSIVE_BYTES_PER_PIXEL = 1.01 * 3;
/** Attention (smartcrop) holds the resized image before the crop. */
const ATTENTION_BYTES_PER_PIXEL = 2.77;
/** A target size keeps the resized image while it tries qualities. */
const SEARCH_BYTES_PER_PIXEL = 4;
const MARGIN = 1.3;

type Encoding = OutputFormat | 'jpeg-progressive' | 'jpeg-mozjpeg' | 'png-palette';

interface EncoderCost {
  fixedBytes: number;
  /** Per output pixel at 3 bands (scaled by bands / 3). */
  bytesPerPixel: number;
  fixedMs: number;
  msPerMegapixel: number;
}

/** The encoder holds about its whole output image: JPEG too (sharp's optimised Huffman coding keeps every coefficient). */
const ENCODERS: Readonly<Record<Encoding, EncoderCost>> = Object.freeze({
  jpeg: { fixedBytes: 3.7 * MiB, bytesPerPixel: 5.9, fixedMs: 0, msPerMegapixel: 34.8 },
  'jpeg-progressive': { fixedBytes: 4.0 * MiB, bytesPerPixel: 5.6, fixedMs: 0, msPerMegapixel: 41.0 },
  'jpeg-mozjpeg': { fixedBytes: 4.4 * MiB, bytesPerPixel: 5.7, fixedMs: 0, msPerMegapixel: 114.9 },
  webp: { fixedBytes: 4.5 * MiB, bytesPerPixel: 4.9, fixedMs: 0, msPerMegapixel: 143 },
  avif: { fixedBytes: 13.3 * MiB, bytesPerPixel: 33.9, fixedMs: 0, msPerMegapixel: 2167 },
  png: { fixedBytes: 4.7 * MiB, bytesPerPixel: 2.4, fixedMs: 0, msPerMegapixel: 76.9 },
  // libimagequant: an upper bound over the measured cases, not a fit (its time depends on the content).
  'png-palette': { fixedBytes: 92.6 * MiB, bytesPerPixel: 2.4, fixedMs: 18_400, msPerMegapixel: 156 },
});

/** libwebp re-encodes when its first partition passes 512 KiB: above ~35 MP its time jumps about five-fold. */
const WEBP_LARGE_MEGAPIXELS = 35;
const WEBP_LARGE_FACTOR = 5;

/** CPU per input megapixel by decoder (progressive and interlaced decodes are whole-image). */
const DECODE_MS_PER_INPUT_MP: Readonly<Record<string, number>> = Object.freeze({
  jpeg: 3.2,
  'jpeg-progressive': 27.8,
  'jpeg-rotated': 7.2,
  png: 9.7,
  'png-interlaced': 107.6,
  webp: 18.6,
  // HEVC in WebAssembly (libheif-js): 0.1–0.7 s per megapixel measured; the top of that.
  heif: 700,
});
/** Decoders the bench did not measure: as slow as an 8-bit PNG's, twice over. */
const DEFAULT_DECODE_MS_PER_INPUT_MP = 20;
const MS_PER_DECODED_MP = 11.0;
const MS_PER_UPSAMPLED_MP = 32.2;
const MS_PER_ATTENTION_MP = 26.6;
const JOB_FIXED_MS = 27.5;

function encodingOf(options: JobOutput['options']): Encoding {
  if (options.format === 'jpeg' && options.mozjpeg) return 'jpeg-mozjpeg';
  if (options.format === 'jpeg' && options.progressive) return 'jpeg-progressive';
  if (options.format === 'png' && options.quality < 100) return 'png-palette';
  return options.format;
}

/** Pixels the decoder produces: JPEG shrinks on load by 2, 4 or 8, WebP by the factor itself. */
function decodedPixels(input: JobInput, resized: Size): number {
  const quarterTurn = input.orientation !== undefined && input.orientation >= 5 && input.orientation <= 8;
  const w = quarterTurn ? input.height : input.width;
  const h = quarterTurn ? input.width : input.height;
  // The shrink from the oriented input to the resized image; an enlargement decodes at full size.
  const s = Math.max(1, Math.min(w / Math.max(1, resized.width), h / Math.max(1, resized.height)));
  if (input.format === 'jpeg' && !input.interlaced) {
    const f = jpegShrinkOnLoad(s);
    return Math.floor(w / f) * Math.floor(h / f);
  }
  if (input.format === 'webp' && s > 1) return Math.round(w / s) * Math.round(h / s);
  return w * h;
}

function decodeMemory(input: JobInput, decodedBytes: number): number {
  const inputPixels = input.width * input.height;
  switch (input.format) {
    case 'jpeg':
      return DECODE_FACTOR.jpeg! * decodedBytes + (input.interlaced ? PROGRESSIVE_BYTES_PER_PIXEL * inputPixels : 0);
    case 'png':
      return (input.interlaced ? WHOLE_IMAGE_FACTOR : DECODE_FACTOR.png!) * decodedBytes;
    case 'webp':
      return DECODE_FACTOR.webp! * decodedBytes;
    case 'heif':
      // Decoded whole in WebAssembly: the header's figure is what the decoder measured to need.
      return input.decodeBytes;
    default:
      return WHOLE_IMAGE_FACTOR * input.decodeBytes;
  }
}

function decodeKind(input: JobInput): string {
  if (input.format === 'jpeg') {
    if (input.interlaced) return 'jpeg-progressive';
    return input.orientation !== undefined && input.orientation > 1 ? 'jpeg-rotated' : 'jpeg';
  }
  if (input.format === 'png' && input.interlaced) return 'png-interlaced';
  return input.format;
}

/**
 * The job's cost for `input` made into `output`. `encodes` is how many times
 * the encoder runs (a target file size searches for its quality).
 */
export function jobCost(input: JobInput, output: JobOutput, encodes = 1): JobCost {
  const { options, target } = output;
  const resized = output.resized ?? target;
  const outputPixels = target.width * target.height;
  const inputPixels = input.width * input.height;
  const decoded = decodedPixels(input, resized);
  const decodedBytes = decoded * Math.max(1, input.channels) * Math.max(1, input.bytesPerChannel);
  const encoding = encodingOf(options);
  const encoder = ENCODERS[encoding];
  const bands = output.bands ?? (options.format === 'jpeg' ? 3 : Math.max(3, input.channels));
  const attention = options.fit === 'cover' && options.position === 'attention';
  const parts = {
    input: input.fileBytes,
    decode: decodeMemory(input, decodedBytes),
    encoder: encoder.fixedBytes + encoder.bytesPerPixel * outputPixels * (bands / 3),
    other: (attention ? ATTENTION_BYTES_PER_PIXEL * resized.width * resized.height : 0) + (encodes > 1 ? SEARCH_BYTES_PER_PIXEL * outputPixels : 0),
  };
  const memoryBytes = MARGIN * (parts.input + parts.decode + parts.encoder + parts.other);

  const outputMp = outputPixels / MP;
  const webpLarge = options.format === 'webp' && outputMp > WEBP_LARGE_MEGAPIXELS ? WEBP_LARGE_FACTOR : 1;
  const encodeMs = encoder.fixedMs + encoder.msPerMegapixel * outputMp * webpLarge;
  const cpuMs =
    JOB_FIXED_MS +
    (DECODE_MS_PER_INPUT_MP[decodeKind(input)] ?? DEFAULT_DECODE_MS_PER_INPUT_MP) * (inputPixels / MP) +
    MS_PER_DECODED_MP * (decoded / MP) +
    (outputPixels > inputPixels ? MS_PER_UPSAMPLED_MP * outputMp : 0) +
    (attention ? MS_PER_ATTENTION_MP * ((resized.width * resized.height) / MP) : 0) +
    encodeMs * encodes;
  return { memoryBytes: Math.ceil(memoryBytes), parts, cpuMs: Math.ceil(cpuMs), encodes };
}

/**
 * The resized image before a `cover` crop (what attention scans): the
 * oriented input scaled by the smaller of the box's ratios.
 */
export function resizedBeforeCrop(
  oriented: Size,
  options: Pick<OutputOptions, 'fit' | 'enlarge'> & { width: number | null; height: number | null },
  target: Size,
): Size {
  if (options.fit !== 'cover' || options.width == null || options.height == null) return target;
  let s = Math.min(oriented.width / options.width, oriented.height / options.height);
  if (!options.enlarge) s = Math.max(1, s);
  return { width: Math.max(1, Math.round(oriented.width / s)), height: Math.max(1, Math.round(oriented.height / s)) };
}

/** What admission and the time limit need of a job's cost, as its row stores them. */
export type JobNeeds = Pick<JobCost, 'memoryBytes' | 'cpuMs'>;

/**
 * The cost of a row stored before costs were recorded: only its decode size
 * is known, so its input is taken as that many RGB pixels of a baseline
 * JPEG, and its output as its whole box.
 */
export function legacyJobNeeds(decodeBytes: number | null, options: JobOutput['options'] & { width?: number | null; height?: number | null }): JobNeeds {
  const decode = decodeBytes ?? 0;
  const side = Math.max(1, Math.ceil(Math.sqrt(decode / 3)));
  const input: JobInput = {
    width: side,
    height: side,
    format: 'jpeg',
    interlaced: false,
    channels: 3,
    bytesPerChannel: 1,
    decodeBytes: decode,
    fileBytes: decode / 4,
  };
  const box = { width: options.width ?? side, height: options.height ?? side };
  const { memoryBytes, cpuMs } = jobCost(input, { options, target: box });
  return { memoryBytes, cpuMs };
}

/** The cost as a person reads it: "needs 412 MiB (decode 61, AVIF encoder 300, …)". */
export function describeMemory(cost: JobCost, format: OutputFormat): string {
  const m = (b: number) => Math.ceil(b / MiB);
  const p = cost.parts;
  const other = p.other > 0 ? `, crop or size search ${m(p.other)}` : '';
  return `${m(cost.memoryBytes)} MiB (decode ${m(p.decode)}, ${format.toUpperCase()} encoder ${m(p.encoder)}, the file ${m(p.input)}${other}, and a 30 % margin)`;
}

/**
 * TOO_MUCH_MEMORY's words, one text wherever a job is refused for memory:
 * at upload (`what` names the image and its output, `needs` the parts) and
 * at claim (a budget that shrank since, or a row stored by an older pod).
 */
export function tooMuchMemoryMessage(what: string, needs: string, budgetBytes: number): string {
  return `resizing ${what} needs ${needs}, more than this server's budget of ${Math.floor(budgetBytes / MiB)} MiB (JOB_MEMORY_MB)`;
}

/**
 * The reference job the machine's speed is measured by (workers/machine-speed.ts):
 * its input, its output, and what it cost on the machine the constants above
 * were measured on. `speed = measured / cpuMs` scales every job's cpuMs.
 */
export const MACHINE_REFERENCE = Object.freeze({
  width: 1600,
  height: 1200,
  box: { width: 800, height: 600 },
  cpuMs: 30,
});
