/**
 * The resize pipeline: one function used by the backend's worker threads and
 * by the desktop's "resize locally", so both give the same bytes.
 */
import sharp, { type Metadata } from 'sharp';
import { detectFormat, type ImageFormat } from './detect.js';
import { ImageError } from './errors.js';
import { fitInside, orientedSize, type ResizeRules, type Size } from './rules.js';

export interface ImageHeader extends Size {
  format: ImageFormat;
  /** EXIF orientation 1–8, when present. */
  orientation: number | undefined;
  /** Width and height after the EXIF orientation is applied. */
  oriented: Size;
  /** Size the resize rules will produce. */
  target: Size;
}

export interface ResizeResult {
  /** Always a baseline JPEG, metadata stripped, sRGB. */
  data: Buffer;
  width: number;
  height: number;
  input: ImageHeader;
}

const MiB = 1024 * 1024;

function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}

/** A sharp/libvips failure, told as a per-file reason. */
function corrupt(err: unknown): ImageError {
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new ImageError('CORRUPT_IMAGE', `corrupt or truncated image data (${detail})`);
}

/** Checks everything that can be known without decoding pixels. */
export async function readHeader(
  bytes: Uint8Array,
  rules: Pick<ResizeRules, 'maxWidth' | 'maxHeight' | 'maxPixels' | 'maxBytes'>,
): Promise<ImageHeader> {
  if (bytes.length === 0) throw new ImageError('EMPTY_FILE', 'the file is empty');
  if (bytes.length > rules.maxBytes) {
    throw new ImageError(
      'FILE_TOO_LARGE',
      `the file is ${formatBytes(bytes.length)}, above the limit of ${formatBytes(rules.maxBytes)}`,
    );
  }
  const format = detectFormat(bytes);
  if (!format) {
    throw new ImageError('UNSUPPORTED_TYPE', 'not a JPEG, PNG or WebP image (judged by its content, not its name)');
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw corrupt(err);
  }
  if (!meta.width || !meta.height) throw corrupt(new Error('no image dimensions in the header'));
  const pixels = meta.width * meta.height;
  if (pixels > rules.maxPixels) {
    throw new ImageError(
      'TOO_MANY_PIXELS',
      `${meta.width}x${meta.height} is ${(pixels / 1e6).toFixed(1)} megapixels, above the limit of ${(rules.maxPixels / 1e6).toFixed(1)}`,
    );
  }
  const oriented = orientedSize({ width: meta.width, height: meta.height }, meta.orientation);
  return {
    format,
    width: meta.width,
    height: meta.height,
    orientation: meta.orientation,
    oriented,
    target: fitInside(oriented, rules),
  };
}

/**
 * Orient, fit inside the box (never enlarge), flatten alpha onto white,
 * convert to sRGB and encode a metadata-free JPEG. Resizing straight from the
 * encoded JPEG lets libvips shrink on load, which is most of the speed.
 */
export async function resizeImage(bytes: Uint8Array, rules: ResizeRules): Promise<ResizeResult> {
  const input = await readHeader(bytes, rules);
  try {
    const { data, info } = await sharp(bytes, {
      limitInputPixels: rules.maxPixels,
      // Fail on truncated data; tolerate mere warnings that decoders shrug off.
      failOn: 'truncated',
      sequentialRead: true,
    })
      .autoOrient()
      .resize(rules.maxWidth, rules.maxHeight, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .jpeg({ quality: rules.quality })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, input };
  } catch (err) {
    throw corrupt(err);
  }
}
