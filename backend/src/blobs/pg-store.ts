/**
 * The postgres store (BLOB_STORE=postgres): the bytes in the queue row's own
 * BYTEA columns, `original_data` and `processed_data`, as the earlier system
 * kept them. For clusters with neither a shared volume nor object storage;
 * it costs PostgreSQL a WAL record the size of every photo, which is why it
 * is not the default (see the README's storage section).
 *
 * It is also how rows stored before the blob store existed are read, whatever
 * the store (row-fallback.ts): their keys are NULL and their bytes in the row.
 *
 * This is the only module whose SQL touches image bytes. A staged blob waits
 * in memory until `attach` writes it into its row, in the row's transaction.
 */
import { PassThrough, type Readable } from 'node:stream';
import type pg from 'pg';
import { readBytea, streamBytea } from '../db/binary-copy.js';
import { freeBuffer } from '../util/free-buffer.js';
import {
  BlobNotFoundError,
  BlobStoreError,
  type BlobKind,
  type BlobRef,
  type BlobStore,
  type BlobWriter,
  type ByteRange,
  type ListedBlob,
  type Queryable,
  type StagedBlob,
  type WorkerBlobAccess,
} from './blob-store.js';

const COLUMNS: Readonly<Record<BlobKind, string>> = Object.freeze({ original: 'original_data', result: 'processed_data' });

/** Buffers this store made itself (an upload gathered in memory): freed once written; a caller's bytes never are. */
const ownBuffers = new WeakSet<Buffer>();

export class PostgresBlobStore implements BlobStore {
  readonly kind = 'postgres' as const;

  constructor(private readonly db: pg.Pool) {}

  async check(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  create(kind: BlobKind): BlobWriter {
    return new MemoryWriter(kind);
  }

  async put(kind: BlobKind, bytes: Uint8Array): Promise<StagedBlob> {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { kind, key: null, size: data.length, data };
  }

  async attach(db: Queryable, imageId: number, blob: StagedBlob): Promise<void> {
    if (!blob.data) throw new BlobStoreError('misconfigured', `a ${blob.kind} for image ${imageId} was staged by another store`);
    // The bytes go last: pg's serializer grows its buffer by half again plus
    // what it adds, so a parameter after a large one would copy it all again.
    await db.query({
      name: `imgfleet-attach-${blob.kind}`,
      text: `UPDATE processed_images SET ${COLUMNS[blob.kind]} = $2 WHERE id = $1`,
      values: [imageId, blob.data],
    });
    // PostgreSQL has the bytes: free them now rather than at the next collection.
    if (ownBuffers.has(blob.data)) freeBuffer(blob.data);
    delete blob.data;
  }

  async discard(blob: StagedBlob): Promise<void> {
    delete blob.data;
  }

  async open(ref: BlobRef, range?: ByteRange): Promise<Readable> {
    const stream = await streamBytea(this.db, 'processed_images', COLUMNS[ref.kind], ref.imageId, range);
    if (!stream) throw new BlobNotFoundError(`the ${ref.kind} of image ${ref.imageId}`);
    return stream;
  }

  async read(ref: BlobRef): Promise<Buffer> {
    const value = await readBytea(this.db, 'processed_images', COLUMNS[ref.kind], ref.imageId);
    if (!value) throw new BlobNotFoundError(`the ${ref.kind} of image ${ref.imageId}`);
    return value;
  }

  async size(ref: BlobRef): Promise<number | null> {
    const { rows } = await this.db.query<{ n: number | null }>(`SELECT octet_length(${COLUMNS[ref.kind]}) AS n FROM processed_images WHERE id = $1`, [
      ref.imageId,
    ]);
    return rows[0]?.n ?? null;
  }

  /** Clears the column of rows that still exist (a dropped original); a deleted row took its bytes with it. */
  async remove(refs: readonly BlobRef[], db: Queryable = this.db): Promise<void> {
    for (const kind of ['original', 'result'] as const) {
      const ids = refs.filter((r) => r.kind === kind).map((r) => r.imageId);
      if (ids.length)
        await db.query(`UPDATE processed_images SET ${COLUMNS[kind]} = NULL WHERE id = ANY($1::bigint[]) AND ${COLUMNS[kind]} IS NOT NULL`, [ids]);
    }
  }

  // eslint-disable-next-line require-yield -- the interface's generator: this store keeps nothing outside its rows
  async *list(): AsyncIterable<ListedBlob> {
    return;
  }

  async sweepIncomplete(): Promise<number> {
    return 0;
  }

  workerAccess(): WorkerBlobAccess {
    return { kind: 'bytes' };
  }

  async close(): Promise<void> {
    // The pool is the server's.
  }
}

/** Collects a streamed blob in memory, as the postgres store has always held an upload's bytes. */
class MemoryWriter implements BlobWriter {
  readonly stream: PassThrough;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly ended: Promise<void>;
  private aborted = false;

  constructor(private readonly kind: BlobKind) {
    this.stream = new PassThrough();
    this.stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
    });
    this.ended = new Promise<void>((resolve, reject) => {
      this.stream.once('end', resolve);
      this.stream.once('error', reject);
      this.stream.once('close', () => reject(new Error('the write was cut off before its end')));
    });
    this.ended.catch(() => undefined);
  }

  async finish(): Promise<StagedBlob> {
    try {
      await this.ended;
    } catch (err) {
      this.chunks.length = 0;
      throw new BlobStoreError('unavailable', `the ${this.kind} was not received whole`, { cause: err });
    }
    if (this.aborted) throw new BlobStoreError('unavailable', `the write of a ${this.kind} was aborted`);
    // One buffer of exactly its size, owning its memory: it can be transferred to a worker thread as it is.
    const data = Buffer.allocUnsafeSlow(this.size);
    let at = 0;
    for (const c of this.chunks) at += c.copy(data, at);
    this.chunks.length = 0;
    ownBuffers.add(data);
    return { kind: this.kind, key: null, size: data.length, data };
  }

  async abort(): Promise<void> {
    this.aborted = true;
    this.chunks.length = 0;
    this.stream.destroy();
  }
}
