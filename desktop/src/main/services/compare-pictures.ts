/**
 * The pictures of a before/after comparison, made in the main process: the
 * original at full size (its own bytes when Chromium can show the format;
 * HEIC and TIFF decoded here, as sharp's libvips and libheif do for the
 * cluster, and shown as a high-quality JPEG), and the result: the
 * backend's bytes once completed, else the cluster's own render function
 * run here with the batch's options (the same bytes "Resize locally"
 * writes), so the preview is not an approximation.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { decodeHeifOffThread, loadableInput, renderImage, type ResizeRules } from '@imgfleet/backend/imaging';
import type { OutputOptions } from '@imgfleet/backend/contract/output-options';
import type { ComparePictures } from '../../shared/compare.js';
import type { ApiClient } from './api-client.js';

/** Formats Chromium shows as they are (sharp's names → MIME types). */
const SHOWN_AS_IS: Readonly<Record<string, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };

function dataUrl(mime: string, bytes: Uint8Array): string {
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/** An encoded image as an img src, decoded and re-encoded only where Chromium cannot show it. */
export async function pictureOf(bytes: Uint8Array, rules: ResizeRules): Promise<string> {
  const meta = await sharp(bytes).metadata();
  const format: string = meta.format;
  // sharp calls AVIF and HEIC both "heif": only an AVIF (AV1) is shown as it is.
  const isAvif = format === 'heif' && meta.compression === 'av1';
  const mime = isAvif ? 'image/avif' : SHOWN_AS_IS[format];
  if (mime) return dataUrl(mime, bytes);
  const input = await loadableInput(bytes, format === 'heif' ? 'heif' : 'tiff', meta.icc, decodeHeifOffThread);
  const image = sharp(input, { limitInputPixels: rules.maxPixels }).autoOrient();
  return meta.hasAlpha ? dataUrl('image/png', await image.png().toBuffer()) : dataUrl('image/jpeg', await image.jpeg({ quality: 92 }).toBuffer());
}

export interface CompareRequest {
  /** The original on this computer (a granted file), when it is here. */
  path?: string;
  /** The backend's image, when its result is completed. */
  id?: number;
}

export async function comparePictures(
  request: CompareRequest,
  deps: { client: ApiClient; options: OutputOptions; rules: ResizeRules },
): Promise<ComparePictures> {
  const bytes = request.path === undefined ? null : await fs.readFile(request.path);
  const original = bytes ? await pictureOf(bytes, deps.rules) : null;
  if (request.id !== undefined) {
    const result = await deps.client.processed(request.id);
    return {
      original,
      result: await pictureOf(result, deps.rules),
      resultKind: 'result',
      note: original ? 'The result the cluster made' : 'The original is not on this computer',
    };
  }
  if (!bytes) return { original: null, result: null, resultKind: 'preview', note: 'Neither the original nor a result is here' };
  const rendered = await renderImage(bytes, deps.options, deps.rules, { decodeHeif: decodeHeifOffThread });
  return {
    original,
    result: await pictureOf(rendered.data, deps.rules),
    resultKind: 'preview',
    note: 'Preview made on this computer with the cluster’s own rules',
  };
}
