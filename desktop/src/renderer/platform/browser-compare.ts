/**
 * The before/after view's pictures in a plain browser. The original is the
 * file itself (a blob: URL, full size) where the browser decodes it; HEIC
 * and TIFF it does not, so that side stays empty and says so. The result is
 * the server's own bytes once completed; before upload, this browser's
 * resize of the file to the target size, encoded by its canvas in the
 * batch's format and quality: close to the cluster's result, not
 * byte-identical (libvips' resampling and encoders differ; a browser
 * encodes no AVIF, so WebP stands in). The note says which it is.
 */
import type { ComparePictures } from '../../shared/compare.js';
import type { OutputOptions, Size } from './platform.js';
import { detectFormat } from './imaging-rules.js';

export interface BrowserCompareRequest {
  file: File | null;
  /** The completed result's URL (with the token), when there is one. */
  resultUrl: string | null;
  options: OutputOptions;
  target: Size | null;
}

const CANVAS_TYPES: Readonly<Record<string, string>> = { jpeg: 'image/jpeg', webp: 'image/webp', png: 'image/png', avif: 'image/webp' };

async function browserShows(file: File): Promise<boolean> {
  const format = detectFormat(new Uint8Array(await file.slice(0, 64).arrayBuffer()));
  return format !== null && format !== 'heif' && format !== 'tiff';
}

async function canvasPreview(file: File, options: OutputOptions, target: Size): Promise<string> {
  const bitmap = await createImageBitmap(file, {
    imageOrientation: 'from-image',
    resizeWidth: target.width,
    resizeHeight: target.height,
    resizeQuality: 'high',
  });
  try {
    const canvas = new OffscreenCanvas(target.width, target.height);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas');
    const type = CANVAS_TYPES[options.format] ?? 'image/jpeg';
    if (type === 'image/jpeg') {
      // A JPEG has no transparency: flattened on the options' background, as the cluster does.
      context.fillStyle = options.background;
      context.fillRect(0, 0, target.width, target.height);
    }
    context.drawImage(bitmap, 0, 0);
    return URL.createObjectURL(await canvas.convertToBlob({ type, quality: options.quality / 100 }));
  } finally {
    bitmap.close();
  }
}

export async function browserComparePictures(request: BrowserCompareRequest): Promise<ComparePictures> {
  const shown = request.file ? await browserShows(request.file) : false;
  const original = request.file && shown ? URL.createObjectURL(request.file) : null;
  const missing = request.file && !shown ? 'This browser cannot show a HEIC or TIFF original; ' : '';
  if (request.resultUrl) {
    return { original, result: request.resultUrl, resultKind: 'result', note: `${missing}The result the cluster made` };
  }
  if (!request.file || !shown || !request.target) {
    return { original, result: null, resultKind: 'preview', note: `${missing}the result can be compared once the cluster has made it` };
  }
  const result = await canvasPreview(request.file, request.options, request.target);
  const stand = request.options.format === 'avif' ? ' (WebP standing in for AVIF)' : '';
  return { original, result, resultKind: 'preview', note: `Preview made by this browser${stand}: close to the cluster’s result, not identical` };
}
