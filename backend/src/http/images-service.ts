/**
 * The images service: the routes' one door to the images and batches
 * (they hold no pool and write no SQL), in the API's shapes.
 */
import type { Readable } from 'node:stream';
import type { BlobKind, BlobStore, ByteRange } from '../blobs/blob-store.js';
import type { BatchDeletion, BatchListItem, BatchSummary, ImageSummary, Stats } from '../contract/api.js';
import type { ImageCatalogue, ListFilter } from '../queue/catalogue.js';
import { toImageSummary } from './image-summary.js';
import { deleteBatch, originalDroppedAt, type Queryable } from '../retention/store.js';
import { completedResults, positionInBatch, type ListedResult } from './downloads/batch-listing.js';

export interface ImagesServiceDeps {
  catalogue: ImageCatalogue;
  db: Queryable;
  blobs: BlobStore;
  /** Rows deleted per statement when a whole batch goes (retention's RETENTION_SWEEP_ROWS). */
  rowsPerStatement: number;
}

/** What the routes read and change, in the API's shapes. */
export class ImagesService {
  private readonly catalogue: ImageCatalogue;

  constructor(private readonly deps: ImagesServiceDeps) {
    this.catalogue = deps.catalogue;
  }

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

  /** Every image of a batch, queued and processing ones too, and their blobs; null when there is no such batch. */
  deleteBatch(batchId: string): Promise<BatchDeletion | null> {
    return deleteBatch(this.deps.db, this.deps.blobs, batchId, this.deps.rowsPerStatement);
  }

  /** When the retention policy dropped an image's original, or null when it did not. */
  originalDroppedAt(id: number): Promise<Date | null> {
    return originalDroppedAt(this.deps.db, id);
  }

  /** `{index}` of one image in its batch. */
  positionInBatch(image: Pick<ImageSummary, 'id' | 'batchId'>): Promise<number> {
    return positionInBatch(this.deps.db, image);
  }

  /** A batch's completed results (only `ids`, when given), what its ZIP holds. */
  completedResults(batchId: string, ids?: readonly number[]): Promise<ListedResult[]> {
    return completedResults(this.deps.db, batchId, ids);
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
