/**
 * The output stage of the pipeline: alpha, colour, metadata and the
 * per-format encoder, from the batch's output options.
 */
import type { Sharp } from 'sharp';
import type { OutputOptions } from '../contract/output-options.js';
import { exifToKeep } from './exif-subset.js';

/**
 * Alpha is flattened for JPEG only (it has none); the other formats keep
 * it. Colour is converted to sRGB whatever the input's profile; `keep`
 * embeds sRGB's profile and the EXIF subset, `strip` writes no metadata.
 */
export function applyOutput(image: Sharp, options: OutputOptions, inputExif: Buffer | undefined): Sharp {
  let out = image;
  if (options.format === 'jpeg') out = out.flatten({ background: options.background });
  out = out.toColourspace('srgb');
  if (options.metadata === 'keep') {
    out = out.withIccProfile('srgb');
    const exif = exifToKeep(inputExif, options.keepGps);
    if (exif) out = out.withExif(exif);
  }
  return encode(out, options);
}

function encode(image: Sharp, options: OutputOptions): Sharp {
  const quality = options.quality;
  switch (options.format) {
    case 'webp':
      return image.webp({ quality, effort: 4 });
    case 'avif':
      return image.avif({ quality, effort: 4 });
    case 'png':
      // 100 is lossless; below it libimagequant finds the fewest colours reaching that quality.
      return quality >= 100 ? image.png({ compressionLevel: 6 }) : image.png({ compressionLevel: 6, palette: true, quality });
    default:
      // mozjpeg's optimised scans make the file progressive even when `progressive` is off.
      return image.jpeg({ quality, progressive: options.progressive, mozjpeg: options.mozjpeg });
  }
}
