/**
 * Test and benchmark images, made in code: nothing binary is committed.
 * Photo-like content (smooth gradients from an upscaled random field plus a
 * little grain) so JPEG sizes and decode costs resemble real photos.
 */
import sharp from 'sharp';

export interface MakeImageOptions {
  width: number;
  height: number;
  format?: 'jpeg' | 'png' | 'webp';
  /** EXIF orientation tag to write (1–8). */
  orientation?: number;
  progressive?: boolean;
  /** Encode as CMYK or grayscale instead of sRGB. */
  colourspace?: 'srgb' | 'cmyk' | 'b-w';
  /** PNG/WebP only: add an alpha channel (transparent left half). */
  alpha?: boolean;
  quality?: number;
  /** Seed for the random field, so two calls with the same seed give the same image. */
  seed?: number;
  /** Amplitude of per-pixel grain (0: smooth). */
  grain?: number;
}

function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: deterministic, fast, good enough for pixels.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

async function photoLikeRaw(width: number, height: number, seed: number, grain: number): Promise<Buffer> {
  const rand = seededRandom(seed);
  const gw = Math.max(2, Math.ceil(width / 64));
  const gh = Math.max(2, Math.ceil(height / 64));
  const field = Buffer.alloc(gw * gh * 3);
  for (let i = 0; i < field.length; i++) field[i] = Math.floor(rand() * 256);
  const raw = await sharp(field, { raw: { width: gw, height: gh, channels: 3 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
  // Sensor-like grain: real photos carry fine detail, which is what makes
  // their JPEGs a few MiB and their decoding cost what it does.
  if (grain > 0) {
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i]! + Math.floor((rand() - 0.5) * 2 * grain);
      raw[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return raw;
}

export async function makeImage(options: MakeImageOptions): Promise<Buffer> {
  const { width, height, format = 'jpeg', seed = width * 31 + height } = options;
  const raw = await photoLikeRaw(width, height, seed, options.grain ?? 0);
  let image = sharp(raw, { raw: { width, height, channels: 3 } });
  if (options.alpha) {
    const alphaPlane = Buffer.alloc(width * height, 255);
    for (let y = 0; y < height; y++) alphaPlane.fill(0, y * width, y * width + Math.floor(width / 2));
    image = image.joinChannel(alphaPlane, { raw: { width, height, channels: 1 } });
  }
  if (options.colourspace === 'cmyk') image = image.toColourspace('cmyk');
  if (options.colourspace === 'b-w') image = image.toColourspace('b-w');
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation });
  switch (format) {
    case 'png':
      return image.png({ compressionLevel: 1 }).toBuffer();
    case 'webp':
      return image.webp({ quality: options.quality ?? 80 }).toBuffer();
    default:
      return image.jpeg({ quality: options.quality ?? 90, progressive: options.progressive ?? false }).toBuffer();
  }
}

/** A 12-megapixel (4000x3000) camera-like JPEG of a few MiB. */
export function make12MpJpeg(seed = 1): Promise<Buffer> {
  return makeImage({ width: 4000, height: 3000, seed, quality: 92, grain: 12 });
}

/** Cuts a valid image short, as an interrupted copy would. */
export function truncate(bytes: Buffer, keepFraction = 0.5): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * keepFraction));
}
