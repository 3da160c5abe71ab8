/**
 * Where a download's bytes come from: one Readable per image, whole or a
 * byte range. The download and ZIP code read only through this, so the
 * bytes can live anywhere (today the catalogue's rows; the blob store plugs
 * in here). A source that finds the bytes gone rejects with
 * BlobNotFoundError, the blob store's own "gone".
 */
import type { Readable } from 'node:stream';
import { BlobNotFoundError, type ByteRange } from '../../blobs/blob-store.js';
import type { ImageSummary } from '../../contract/api.js';
import type { ImagesService } from '../images-service.js';

export type { ByteRange } from '../../blobs/blob-store.js';

export interface DownloadSource {
  /** The result's bytes (`range`: inclusive at both ends). */
  openResult(image: ImageSummary, range?: ByteRange): Promise<Readable>;
  /** The original's bytes as uploaded. */
  openOriginal(image: ImageSummary, range?: ByteRange): Promise<Readable>;
}

/**
 * The blob store's streams, through the catalogue (which knows each image's
 * keys): a download holds a chunk or two of a photo, whatever its size.
 */
export function catalogueSource(images: Pick<ImagesService, 'open'>): DownloadSource {
  const open = async (image: ImageSummary, kind: 'original' | 'result', range?: ByteRange) => {
    const stream = await images.open(image.id, kind, range);
    if (!stream) throw new BlobNotFoundError(`the ${kind} of image ${image.id}`);
    return stream;
  };
  return {
    openResult: (image, range) => open(image, 'result', range),
    openOriginal: (image, range) => open(image, 'original', range),
  };
}
