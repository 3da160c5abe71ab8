/**
 * The resize pipeline: one function used by the backend's worker threads and
 * by the desktop's "resize locally", so both give the same bytes.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { OutputFormat, OutputOptions } from '../contract/output-options.js';
import { decodeMemoryBytes } from './decode-cost.js';
import { ACCEPTED_TYPES_TEXT, detectFormat, type ImageFormat } from './detect.js';
import { applyOutput } from './encode.js';
import { ImageError } from './errors.js';
import { decodeHeif, heifDecodeBytes, type HeifDecodeInput } from './heif-decode.js';
import { optionsFromRules } from './options-from-rules.js';
import { orientedSize, resizeCall, targetSize, type ResizeRules, type Size, type SizeOptions } from './rules.js';
import { encodeWithinBytes } from './target-bytes.js';

/** What is checked before any decoding. */
export type InputLimits = Pick<ResizeRules, 'maxPixels' | 'maxBytes'>;

export interface ImageHeader extends Size {
  format: ImageFormat;
  /** EXIF orientation 1–8, when present. */
  orientation: number | undefined;
  /** Width and height after the EXIF orientation is applied. */
  oriented: Size;
  /** Size the output options will produce: exactly sharp's. */
  target: Size;
  /** Bands once decoded (palette PNGs count as the RGB(A) they decode to). */
  channels: number;
  /** 1 for 8-bit samples, 2 for 16-bit. */
  bytesPerChannel: number;
  /** Adam7 PNG or progressive JPEG: decoded whole, not streamed. */
  interlaced: boolean;
  /** Memory the decode needs, bytes (see decode-cost.ts; HEIF: heif-decode.ts, measured). */
  decodeBytes: number;
  /** Frames or pages in the file (an animated GIF, a multi-page TIFF); only the first is used. */
  pages: number;
}

export interface ResizeResult {
  /** The encoded output, sRGB, metadata as the options say. */
  data: Buffer;
  width: number;
  height: number;
  /** The output's format (the input's is `input.format`). */
  format: OutputFormat;
  /** The quality it was encoded at: the options', or the one maxBytes chose. */
  quality: number;
  /** Encodes made: 1, or the tries of the maxBytes search. */
  encodes: number;
  input: ImageHeader;
}

/** Decodes a HEIF to an uncompressed TIFF (heif-decode.ts); a caller on a main thread passes one that runs elsewhere. */
export type HeifDecoder = (input: HeifDecodeInput) => Promise<Buffer>;

export interface RenderControl {
  /** libvips stops the decode/encode after this many whole seconds (0: no limit). */
  timeoutSeconds?: number;
  /** How HEIF pixels are decoded: here, synchronously (a worker thread's way), unless given. */
  decodeHeif?: HeifDecoder;
}

const MiB = 1024 * 1024;

function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}

function detailOf(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
}

/** A sharp/libvips failure, told as a per-file reason. */
function corrupt(err: unknown): ImageError {
  return new ImageError('CORRUPT_IMAGE', `corrupt or truncated image data (${detailOf(err)})`);
}

function failure(err: unknown, timeoutSeconds: number): ImageError {
  if (timeoutSeconds > 0 && /^timeout\b/i.test(detailOf(err))) {
    return new ImageError('TIMEOUT', `processing took longer than the limit of ${timeoutSeconds} s (${detailOf(err)})`);
  }
  return corrupt(err);
}

function checkBytes(bytes: Uint8Array, limits: InputLimits): ImageFormat {
  if (bytes.length === 0) throw new ImageError('EMPTY_FILE', 'the file is empty');
  if (bytes.length > limits.maxBytes) {
    throw new ImageError('FILE_TOO_LARGE', `the file is ${formatBytes(bytes.length)}, above the limit of ${formatBytes(limits.maxBytes)}`);
  }
  const format = detectFormat(bytes);
  if (!format) {
    throw new ImageError('UNSUPPORTED_TYPE', `not a ${ACCEPTED_TYPES_TEXT} image (judged by its content, not its name)`);
  }
  return format;
}

function tooManyPixels(what: string, size: Size, maxPixels: number): ImageError {
  const pixels = size.width * size.height;
  return new ImageError(
    'TOO_MANY_PIXELS',
    `${what}${size.width}x${size.height} is ${(pixels / 1e6).toFixed(1)} megapixels, above the limit of ${(maxPixels / 1e6).toFixed(1)}`,
  );
}

function headerFrom(format: ImageFormat, meta: Metadata, fileBytes: number, limits: InputLimits, box: SizeOptions): ImageHeader {
  if (!meta.width || !meta.height) throw corrupt(new Error('no image dimensions in the header'));
  const size = { width: meta.width, height: meta.height };
  if (size.width * size.height > limits.maxPixels) throw tooManyPixels('', size, limits.maxPixels);
  const channels = meta.channels;
  // A HEIF is decoded by libheif into RGB(A), then handed on whole (heif-decode.ts).
  const decodeBytes =
    format === 'heif'
      ? heifDecodeBytes(size.width, size.height, channels, fileBytes)
      : decodeMemoryBytes({ ...size, channels, depth: meta.depth, bitsPerSample: meta.bitsPerSample });
  const target = targetSize({ ...size, format, orientation: meta.orientation }, box);
  // One side, a long edge or a percentage with enlarge has no box to bound the other side.
  if (target.width * target.height > limits.maxPixels) throw tooManyPixels('the result would be ', target, limits.maxPixels);
  return {
    format,
    ...size,
    orientation: meta.orientation,
    oriented: orientedSize(size, meta.orientation),
    target,
    channels,
    bytesPerChannel: format === 'heif' ? 1 : decodeBytes / (size.width * size.height * Math.max(1, channels)),
    interlaced: meta.isProgressive,
    decodeBytes,
    pages: meta.pages ?? 1,
  };
}

interface Inspected {
  header: ImageHeader;
  exif: Buffer | undefined;
  icc: Buffer | undefined;
}

async function inspect(bytes: Uint8Array, limits: InputLimits, box: SizeOptions): Promise<Inspected> {
  const format = checkBytes(bytes, limits);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw corrupt(err);
  }
  return { header: headerFrom(format, meta, bytes.length, limits, box), exif: meta.exif, icc: meta.icc };
}

/** Checks everything that can be known without decoding pixels; the target is what `options` make of it. */
export async function readHeader(bytes: Uint8Array, limits: InputLimits, options: SizeOptions): Promise<ImageHeader> {
  return (await inspect(bytes, limits, options)).header;
}

/**
 * What sharp is to load: the file itself, or for a HEIF its pixels decoded
 * (as a TIFF with the file's profile): sharp's libvips cannot decode HEVC.
 */
export async function loadableInput(bytes: Uint8Array, format: ImageFormat, icc: Buffer | undefined, decode: HeifDecoder = decodeHeif): Promise<Uint8Array> {
  return format === 'heif' ? decode({ bytes, icc }) : bytes;
}

/** The oriented, resized image, not yet encoded: the first frame or page only (sharp's default). */
function resized(input: Uint8Array, header: ImageHeader, options: OutputOptions, limits: InputLimits): Sharp {
  const image = sharp(input, { limitInputPixels: limits.maxPixels, failOn: 'warning', sequentialRead: true }).autoOrient();
  const call = resizeCall(header.oriented, options);
  if (call.width == null && call.height == null) return image;
  return image.resize(call.width ?? undefined, call.height ?? undefined, {
    fit: call.fit,
    position: call.fit === 'cover' && options.position === 'attention' ? sharp.strategy.attention : 'centre',
    withoutEnlargement: !options.enlarge,
  });
}

/**
 * Orient, size as the options' mode says, convert to sRGB, flatten alpha
 * for JPEG, keep or strip metadata and encode (at the options' quality, or
 * the highest that fits maxBytes: target-bytes.ts). Resizing straight from
 * the encoded input lets libvips shrink on load, which is most of the
 * speed. Any decoder warning fails the image (failOn 'warning'): a damaged
 * file must never come out as a grey or garbled "completed" result. An
 * animated GIF or a multi-page TIFF gives its first frame or page.
 */
export async function renderImage(bytes: Uint8Array, options: OutputOptions, limits: InputLimits, control: RenderControl = {}): Promise<ResizeResult> {
  const { header, exif, icc } = await inspect(bytes, limits, options);
  const timeoutSeconds = control.timeoutSeconds ?? 0;
  const input = await loadableInput(bytes, header.format, icc, control.decodeHeif);
  const done = { format: options.format, input: header };
  if (options.maxBytes != null) {
    const found = await encodeWithinBytes(resized(input, header, options, limits), options, exif, {
      timeoutSeconds,
      failure: (err) => failure(err, timeoutSeconds),
    });
    return { ...done, data: found.data, width: found.width, height: found.height, quality: found.quality, encodes: found.encodes };
  }
  try {
    let image = applyOutput(resized(input, header, options, limits), options, exif);
    if (timeoutSeconds > 0) image = image.timeout({ seconds: timeoutSeconds });
    const { data, info } = await image.toBuffer({ resolveWithObject: true });
    return { ...done, data, width: info.width, height: info.height, quality: options.quality, encodes: 1 };
  } catch (err) {
    throw failure(err, timeoutSeconds);
  }
}

/** The earlier call: the rules' box and quality, everything else the defaults (JPEG, strip). */
export function resizeImage(bytes: Uint8Array, rules: ResizeRules, control?: RenderControl): Promise<ResizeResult> {
  return renderImage(bytes, optionsFromRules(rules), rules, control);
}
