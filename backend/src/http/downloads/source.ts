/**
 * Where a download's bytes come from: one Readable per image, whole or a
 * byte range. The download and ZIP code read only through this, so the
 * bytes can live anywhere (today the catalogue's rows; the blob store plugs
 * in here). A source that finds the bytes gone rejects with
 * BlobNotFoundError, the blob store's own "gone".
 */
import { Readable } from 'node:stream';
import { BlobNotFoundError, type ByteRange } from '../../blobs/blob-store.js';
import type { ImageSummary } from '../../contract/api.js';
import type { ImageViews } from '../image-view.js';

export type { ByteRange } from '../../blobs/blob-store.js';

export interface DownloadSource {
  /** The result's bytes (`range`: inclusive at both ends). */
  openResult(image: ImageSummary, range?: ByteRange): Promise<Readable>;
  /** The original's bytes as uploaded. */
  openOriginal(image: ImageSummary, range?: ByteRange): Promise<Readable>;
}

/** Chunks of this size: a slow reader's backpressure acts between them. */
const CHUNK = 64 * 1024;

/** A buffer as a byte stream in chunks (never one write of the whole photo). */
export function bufferStream(bytes: Buffer, range?: ByteRange): Readable {
  const end = range?.end === undefined ? bytes.length : Math.min(bytes.length, range.end + 1);
  const start = Math.min(range?.start ?? 0, end);
  let at = start;
  let data: Buffer | null = bytes;
  return new Readable({
    read() {
      if (!data || at >= end) {
        data = null;
        this.push(null);
        return;
      }
      const next = Math.min(end, at + CHUNK);
      const chunk = data.subarray(at, next);
      at = next;
      this.push(chunk);
    },
    destroy(err, callback) {
      data = null;
      callback(err);
    },
  });
}

/**
 * Today's source: the catalogue reads a photo's bytes whole from
 * PostgreSQL (binary COPY), so at most one photo per download is in memory;
 * it is handed on in chunks.
 */
export function catalogueSource(images: Pick<ImageViews, 'processedData' | 'originalData'>): DownloadSource {
  return {
    async openResult(image, range) {
      const bytes = await images.processedData(image.id);
      if (!bytes) throw new BlobNotFoundError(`the result of image ${image.id}`);
      return bufferStream(bytes, range);
    },
    async openOriginal(image, range) {
      const bytes = await images.originalData(image.id);
      if (!bytes) throw new BlobNotFoundError(`the original of image ${image.id}`);
      return bufferStream(bytes, range);
    },
  };
}
