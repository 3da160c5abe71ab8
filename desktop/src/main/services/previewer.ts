/**
 * Offline previews: a small JPEG of each file plus the size the cluster will
 * produce, computed with the backend's own rules (readHeader → targetSize),
 * so the card's "4000×3000 → 800×600" is exactly what comes back.
 *
 * Speed comes from libvips' shrink-on-load: resizing straight from the
 * encoded JPEG lets libjpeg decode at 1/2, 1/4 or 1/8 scale, so a 12-MP
 * photo is never fully decoded for a 320-pixel thumbnail. A limiter bounds
 * how many files are read and decoded at once.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import sharp, { type Sharp } from 'sharp';
import {
  decodeHeifOffThread,
  DEFAULT_RULES,
  ImageError,
  loadableInput,
  optionsFromRules,
  readHeader,
  type ResizeRules,
  type SizeOptions,
} from '@imgfleet/backend/imaging';
import type { PreviewResult } from '../../shared/models.js';
import { formatBytes } from '../../shared/sizes.js';
import { errorInfo } from './app-error.js';
import { createLimiter, type Limiter } from './limiter.js';

export interface PreviewerOptions {
  /** Files previewed at once; see defaultPreviewConcurrency. */
  concurrency?: number;
  /** Longest side of the preview image, pixels. */
  box?: number;
  quality?: number;
  rules?: ResizeRules;
}

export interface Previewer {
  /** The target size is for `options` (the batch's box, fit, enlarge); the rules' box without them. */
  preview(filePath: string, options?: SizeOptions): Promise<PreviewResult>;
  readonly limiter: Limiter;
}

/**
 * A little above the core count: while one preview waits for its file to be
 * read, another decodes (measured by desktop/bench/previews.ts: ~10% faster
 * than one per core on 2 cores). libuv's 4 threads bound it anyway.
 */
export function defaultPreviewConcurrency(): number {
  return Math.min(8, Math.max(2, os.availableParallelism()) + 2);
}

/** Grey+alpha or RGBA, in a format that has alpha (a JPEG's four bands are CMYK). */
function hasAlpha(header: { format: string; channels: number }): boolean {
  return header.format !== 'jpeg' && (header.channels === 2 || header.channels === 4);
}

/**
 * A small picture as a data: URL (allowed by the CSP's img-src): JPEG, or
 * PNG when the image has transparency, so the card can show it on the
 * background the result will have (see cards-view.ts), not on black.
 */
async function smallPicture(image: Sharp, options: { box: number; quality: number; alpha: boolean }): Promise<string> {
  const resized = image.autoOrient().resize(options.box, options.box, { fit: 'inside', withoutEnlargement: true });
  const bytes = options.alpha ? await resized.png({ compressionLevel: 6 }).toBuffer() : await resized.jpeg({ quality: options.quality }).toBuffer();
  return `data:image/${options.alpha ? 'png' : 'jpeg'};base64,${bytes.toString('base64')}`;
}

/** A small picture of a result the backend made (a card whose file this computer does not have). */
export async function resultPicture(data: Buffer, box = 320): Promise<string> {
  const meta = await sharp(data).metadata();
  return smallPicture(sharp(data, { failOn: 'none' }), { box, quality: 75, alpha: meta.hasAlpha && meta.format !== 'jpeg' });
}

export function createPreviewer(options: PreviewerOptions = {}): Previewer {
  const box = options.box ?? 320;
  const quality = options.quality ?? 75;
  const rules = options.rules ?? DEFAULT_RULES;
  const limiter = createLimiter(options.concurrency ?? defaultPreviewConcurrency());

  const makePreview = async (filePath: string, options?: SizeOptions): Promise<PreviewResult> => {
    let bytes: number | null = null;
    try {
      const stat = await fs.stat(filePath);
      bytes = stat.size;
      // Refuse before reading: a 2 GB "photo" should not be loaded to be told it is too big.
      if (stat.size > rules.maxBytes) {
        throw new ImageError('FILE_TOO_LARGE', `the file is ${formatBytes(stat.size)}, above the limit of ${formatBytes(rules.maxBytes)}`);
      }
      const data = await fs.readFile(filePath);
      // No options yet (a preview before any are chosen): the server's defaults, the earlier system's box.
      const header = await readHeader(data, rules, options ?? optionsFromRules(rules));
      // A HEIF's pixels come from libheif, in a thread of its own (the main process must not stall).
      const input = await loadableInput(data, header.format, (await sharp(data).metadata()).icc, decodeHeifOffThread);
      let dataUrl: string;
      try {
        // Decoder warnings fail here as in the worker: a file the cluster will refuse never previews as fine.
        const image = sharp(input, { limitInputPixels: rules.maxPixels, failOn: 'warning', sequentialRead: true });
        dataUrl = await smallPicture(image, { box, quality, alpha: hasAlpha(header) });
      } catch (err) {
        // Same wording and code as the backend's worker gives for the same bytes.
        const detail = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
        const known = detail !== '' && !/^unknown error$/i.test(detail);
        throw new ImageError('CORRUPT_IMAGE', `corrupt or truncated image data${known ? ` (${detail})` : ''}`);
      }
      return {
        ok: true,
        path: filePath,
        dataUrl,
        format: header.format,
        bytes: data.length,
        original: header.oriented,
        target: header.target,
      };
    } catch (err) {
      const info = errorInfo(err);
      return { ok: false, path: filePath, bytes, error: info.message, code: info.code };
    }
  };

  return {
    preview: (filePath, options) => limiter.run(() => makePreview(filePath, options)),
    limiter,
  };
}
