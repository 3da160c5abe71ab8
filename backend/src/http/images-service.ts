/**
 * The catalogue's rows as the API's shapes: the one place a stored row
 * becomes an ImageSummary (the queue knows nothing of the HTTP contract).
 */
import type { Readable } from 'node:stream';
import type { BlobKind, ByteRange } from '../blobs/blob-store.js';
import type { BatchListItem, BatchSummary, ImageSummary, Stats } from '../contract/api.js';
import type { ImageCatalogue, ImageRow, ListFilter } from '../queue/catalogue.js';

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function toImageSummary(r: ImageRow): ImageSummary {
  return {
    id: r.id,
    batchId: r.batch_id ?? '',
    filename: r.filename ?? `image_${r.id}`,
    contentType: r.content_type,
    status: r.status,
    error: r.error,
    errorCode: r.error_code,
    originalBytes: r.original_bytes,
    processedBytes: r.processed_bytes,
    originalWidth: r.original_width,
    originalHeight: r.original_height,
    width: r.width,
    height: r.height,
    attempts: r.attempts,
    workerId: r.worker_id,
    uploadedAt: r.uploaded_at.toISOString(),
    startedAt: iso(r.started_at),
    processedAt: iso(r.processed_at),
    processingMs: r.processing_ms,
    options: r.output_options,
    sourcePath: r.source_path,
    outputQuality: r.output_quality,
  };
}

/** The catalogue, answering in the API's shapes. */
export class ImageViews {
  constructor(private readonly catalogue: ImageCatalogue) {}

  async get(id: number): Promise<ImageSummary | null> {
    const row = await this.catalogue.get(id);
    return row ? toImageSummary(row) : null;
  }

  async list(filter: ListFilter): Promise<{ images: ImageSummary[]; total: number }> {
    const { images, total } = await this.catalogue.list(filter);
    return { images: images.map(toImageSummary), total };
  }

  async recent(limit: number): Promise<ImageSummary[]> {
    return (await this.catalogue.recent(limit)).map(toImageSummary);
  }

  batch(batchId: string): Promise<BatchSummary | null> {
    return this.catalogue.batch(batchId);
  }

  batches(page: { limit: number; offset: number }): Promise<{ batches: BatchListItem[]; total: number }> {
    return this.catalogue.batches(page);
  }

  counts(): Promise<Omit<Stats, 'activeThreads' | 'totalThreads' | 'processedCount' | 'pod' | 'recent'>> {
    return this.catalogue.counts();
  }


  retry(id: number) {
    return this.catalogue.retry(id);
  }

  delete(id: number): Promise<boolean> {
    return this.catalogue.delete(id);
  }

  /** An image's original or result as a stream from the blob store, or null when it has none. */
  open(id: number, kind: BlobKind, range?: ByteRange): Promise<Readable | null> {
    return this.catalogue.open(id, kind, range);
  }

  originalData(id: number): Promise<Buffer | null> {
    return this.catalogue.originalData(id);
  }

  processedData(id: number): Promise<Buffer | null> {
    return this.catalogue.processedData(id);
  }
}
