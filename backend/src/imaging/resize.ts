/**
 * The resize pipeline: one function used by the backend's worker threads and
 * by the desktop's "resize locally", so both give the same bytes.
 */
import sharp, { type Metadata } from 'sharp';
import type { OutputFormat, OutputOptions } from '../contract/output-options.js';
import { decodeMemoryBytes } from './decode-cost.js';
import { detectFormat, type ImageFormat } from './detect.js';
import { applyOutput } from './encode.js';
import { ImageError } from './errors.js';
import { optionsFromRules } from './options-from-rules.js';
import { orientedSize, targetSize, type ResizeRules, type Size, type SizeOptions } from './rules.js';

/** What is checked before any decoding. */
export type InputLimits = Pick<ResizeRules, 'maxPixels' | 'maxBytes'>;

export interface ImageHeader extends Size {
  format: ImageFormat;
  /** EXIF orientation 1–8, when present. */
  orientation: number | undefined;
  /** Width and height after the EXIF orientation is applied. */
  oriented: Size;
  /** Size the output options (or the rules' box) will produce: exactly sharp's. */
  target: Size;
  /** Bands once decoded (palette PNGs count as the RGB(A) they decode to). */
  channels: number;
  /** 1 for 8-bit samples, 2 for 16-bit. */
  bytesPerChannel: number;
  /** Adam7 PNG or progressive JPEG: decoded whole, not streamed. */
  interlaced: boolean;
  /** Memory the decode needs, bytes (see decode-cost.ts). */
  decodeBytes: number;
}

export interface ResizeResult {
  /** The encoded output, sRGB, metadata as the options say. */
  data: Buffer;
  width: number;
  height: number;
  /** The output's format (the input's is `input.format`). */
  format: OutputFormat;
  input: ImageHeader;
}

export interface RenderControl {
  /** libvips stops the decode/encode after this many whole seconds (0: no limit). */
  timeoutSeconds?: number;
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
    throw new ImageError(
      'FILE_TOO_LARGE',
      `the file is ${formatBytes(bytes.length)}, above the limit of ${formatBytes(limits.maxBytes)}`,
    );
  }
  const format = detectFormat(bytes);
  if (!format) {
    throw new ImageError('UNSUPPORTED_TYPE', 'not a JPEG, PNG or WebP image (judged by its content, not its name)');
  }
  return format;
}

function headerFrom(format: ImageFormat, meta: Metadata, limits: InputLimits, box: SizeOptions): ImageHeader {
  if (!meta.width || !meta.height) throw corrupt(new Error('no image dimensions in the header'));
  const pixels = meta.width * meta.height;
  if (pixels > limits.maxPixels) {
    throw new ImageError(
      'TOO_MANY_PIXELS',
      `${meta.width}x${meta.height} is ${(pixels / 1e6).toFixed(1)} megapixels, above the limit of ${(limits.maxPixels / 1e6).toFixed(1)}`,
    );
  }
  const size = { width: meta.width, height: meta.height };
  const decode = { ...size, channels: meta.channels ?? 3, depth: meta.depth, bitsPerSample: meta.bitsPerSample };
  const decodeBytes = decodeMemoryBytes(decode);
  return {
    format,
    ...size,
    orientation: meta.orientation,
    oriented: orientedSize(size, meta.orientation),
    target: targetSize({ ...size, format, orientation: meta.orientation }, box),
    channels: decode.channels,
    bytesPerChannel: decodeBytes / (pixels * Math.max(1, decode.channels)),
    interlaced: meta.isProgressive === true,
    decodeBytes,
  };
}

async function inspect(bytes: Uint8Array, limits: InputLimits, box: SizeOptions): Promise<{ header: ImageHeader; exif: Buffer | undefined }> {
  const format = checkBytes(bytes, limits);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw corrupt(err);
  }
  return { header: headerFrom(format, meta, limits, box), exif: meta.exif };
}

/**
 * Checks everything that can be known without decoding pixels. The target
 * is for `options` when given, else for the rules' box (the earlier call).
 */
export async function readHeader(
  bytes: Uint8Array,
  rules: InputLimits & Partial<Pick<ResizeRules, 'maxWidth' | 'maxHeight' | 'quality'>>,
  options?: SizeOptions,
): Promise<ImageHeader> {
  const box = options ?? optionsFromRules({ maxWidth: rules.maxWidth ?? 800, maxHeight: rules.maxHeight ?? 600, quality: 85 });
  return (await inspect(bytes, rules, box)).header;
}

/**
 * Orient, fit the box, convert to sRGB, flatten alpha for JPEG, keep or
 * strip metadata and encode, all as `options` say. Resizing straight from
 * the encoded input lets libvips shrink on load, which is most of the
 * speed. Any decoder warning fails the image (failOn 'warning'): a damaged
 * file must never come out as a grey or garbled "completed" result.
 */
export async function renderImage(
  bytes: Uint8Array,
  options: OutputOptions,
  limits: InputLimits,
  control: RenderControl = {},
): Promise<ResizeResult> {
  const { header, exif } = await inspect(bytes, limits, options);
  const timeoutSeconds = control.timeoutSeconds ?? 0;
  try {
    let image = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'warning', sequentialRead: true })
      .autoOrient()
      .resize(options.width, options.height, {
        fit: options.fit,
        position: options.fit === 'cover' && options.position === 'attention' ? sharp.strategy.attention : 'centre',
        withoutEnlargement: !options.enlarge,
      });
    image = applyOutput(image, options, exif);
    if (timeoutSeconds > 0) image = image.timeout({ seconds: timeoutSeconds });
    const { data, info } = await image.toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, format: options.format, input: header };
  } catch (err) {
    throw failure(err, timeoutSeconds);
  }
}

/** The earlier call: the rules' box and quality, everything else the defaults (JPEG, strip). */
export function resizeImage(bytes: Uint8Array, rules: ResizeRules, options?: OutputOptions, control?: RenderControl): Promise<ResizeResult> {
  return renderImage(bytes, options ?? optionsFromRules(rules), rules, control);
}
