/**
 * Rows stored before photos moved out of PostgreSQL keep their bytes in
 * their own columns and have no blob key. Rather than migrate every byte at
 * start-up (minutes of WAL for a large table, with three replicas racing),
 * they are read where they are: a reference without a key goes to the
 * postgres store, everything else to the configured one. Retention and
 * deletes drain the old bytes away in time.
 */
import type { Readable } from 'node:stream';
import type { BlobKind, BlobRef, BlobStore, BlobWriter, ByteRange, ListedBlob, Queryable, StagedBlob, WorkerBlobAccess } from './blob-store.js';
import type { PostgresBlobStore } from './pg-store.js';

export class RowFallbackStore implements BlobStore {
  constructor(
    readonly primary: BlobStore,
    private readonly inRows: PostgresBlobStore,
  ) {}

  get kind(): BlobStore['kind'] {
    return this.primary.kind;
  }

  check(): Promise<void> {
    return this.primary.check();
  }

  create(kind: BlobKind): BlobWriter {
    return this.primary.create(kind);
  }

  put(kind: BlobKind, bytes: Uint8Array): Promise<StagedBlob> {
    return this.primary.put(kind, bytes);
  }

  attach(db: Queryable, imageId: number, blob: StagedBlob): Promise<void> {
    return this.primary.attach(db, imageId, blob);
  }

  discard(blob: StagedBlob): Promise<void> {
    return this.primary.discard(blob);
  }

  open(ref: BlobRef, range?: ByteRange): Promise<Readable> {
    return this.storeOf(ref).open(ref, range);
  }

  read(ref: BlobRef): Promise<Buffer> {
    return this.storeOf(ref).read(ref);
  }

  size(ref: BlobRef): Promise<number | null> {
    return this.storeOf(ref).size(ref);
  }

  async remove(refs: readonly BlobRef[], db?: Queryable): Promise<void> {
    const old = refs.filter((r) => r.key === null);
    if (old.length) await this.inRows.remove(old, db);
    const current = refs.filter((r) => r.key !== null);
    if (current.length) await this.primary.remove(current, db);
  }

  list(olderThan: Date): AsyncIterable<ListedBlob> {
    return this.primary.list(olderThan);
  }

  sweepIncomplete(olderThan: Date): Promise<number> {
    return this.primary.sweepIncomplete(olderThan);
  }

  workerAccess(): WorkerBlobAccess {
    return this.primary.workerAccess();
  }

  close(): Promise<void> {
    return this.primary.close();
  }

  private storeOf(ref: BlobRef): BlobStore {
    return ref.key === null ? this.inRows : this.primary;
  }
}
