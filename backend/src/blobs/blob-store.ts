/**
 * The one seam between the backend and wherever photos' bytes live. The
 * queue row in PostgreSQL holds state (status, lease, sizes, the blob's
 * key); a BlobStore holds the bytes. Three stores sit behind it:
 *
 * - `filesystem` (the default): a folder, in Kubernetes a ReadWriteMany
 *   volume every backend pod mounts;
 * - `postgres`: the bytes in the queue row's own BYTEA columns, for
 *   clusters with neither a shared volume nor object storage;
 * - `s3`: any S3-compatible object storage.
 *
 * The write protocol is "durable before the row commits": a blob is
 * written in full and made durable (`finish`), then the row that names it
 * is inserted and `attach`ed in the row's transaction, then committed. A
 * committed row therefore never points to a missing blob; a crash between
 * `finish` and the commit leaves an orphan that `list` + `remove` sweep up
 * after a grace. Deleting a row removes its blobs after the delete commits.
 *
 * No SQL outside the postgres store touches image bytes.
 */
import type { Readable, Writable } from 'node:stream';
import type pg from 'pg';

/** An original as uploaded, or the result a worker made from it. */
export type BlobKind = 'original' | 'result';

export type BlobStoreKind = 'filesystem' | 'postgres' | 's3';

/** Where one blob is, as its row records it. */
export interface BlobRef {
  /** The row the blob belongs to (the postgres store keeps the bytes in that row). */
  imageId: number;
  kind: BlobKind;
  /** The store's key; null for the postgres store, whose key is the row itself. */
  key: string | null;
}

/** A blob written in full and durable, not yet named by a committed row. */
export interface StagedBlob {
  kind: BlobKind;
  /** What the row records (null for the postgres store). */
  key: string | null;
  size: number;
  /** The postgres store's bytes, held in memory until `attach` writes them into the row. */
  data?: Buffer;
}

/** A blob being written as a stream (an upload's part). */
export interface BlobWriter {
  /** Write the bytes here; backpressure is the stream's own. */
  readonly stream: Writable;
  /**
   * Every byte was written (the stream was ended): make the blob durable
   * (fsync and rename, complete the object) and return it. Rejects if
   * anything failed; the blob is then removed.
   */
  finish(): Promise<StagedBlob>;
  /** Give up: whatever was written is removed. Safe to call at any time, twice, or after finish (then it removes the blob). */
  abort(reason?: unknown): Promise<void>;
}

/** Something that runs SQL: the pool, or a transaction's client. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** A byte range, inclusive at both ends as HTTP says it. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** One blob found by `list`, for the orphan sweep. */
export interface ListedBlob {
  key: string;
  kind: BlobKind;
  size: number;
  modifiedAt: Date;
}

/**
 * How a worker thread reaches blobs: a serialisable description it builds a
 * store of its own from (`filesystem`, `s3`), or `bytes` when the event
 * loop must read and write for it (`postgres`).
 */
export type WorkerBlobAccess =
  { kind: 'filesystem'; dir: string } | { kind: 's3'; bucket: string; prefix: string; forcePathStyle: boolean } | { kind: 'bytes' };

export interface BlobStore {
  readonly kind: BlobStoreKind;
  /**
   * Ready to read and write? Throws a BlobStoreError saying why not (the
   * folder is missing or read-only, the bucket is missing, the credentials
   * are refused), for /readyz and the start-up log.
   */
  check(): Promise<void>;
  /** A new blob of `kind` to stream into; the store chooses its key. */
  create(kind: BlobKind): BlobWriter;
  /** A new blob from bytes in memory (a result), durable when this resolves. */
  put(kind: BlobKind, bytes: Uint8Array): Promise<StagedBlob>;
  /**
   * Names the staged blob's bytes as the row's, in the row's transaction
   * (`db` is that transaction's client). The postgres store writes the
   * bytes into the row here; the others have nothing to do.
   */
  attach(db: Queryable, imageId: number, blob: StagedBlob): Promise<void>;
  /**
   * Drops a staged blob no row will name (its upload rolled back, its
   * result's lease was lost). Not for attached blobs: see `remove`.
   */
  discard(blob: StagedBlob): Promise<void>;
  /** The blob as a stream, whole or a range. Rejects with BlobNotFoundError when it is gone. */
  open(ref: BlobRef, range?: ByteRange): Promise<Readable>;
  /** The blob in memory (a worker's input where it cannot read the store itself). BlobNotFoundError when gone. */
  read(ref: BlobRef): Promise<Buffer>;
  /** Size in bytes, or null when the blob is gone. */
  size(ref: BlobRef): Promise<number | null>;
  /**
   * Removes blobs whose rows are gone or no longer name them (called after
   * the row's change committed). A blob already gone is not an error.
   * `db` is for the postgres store, which clears the row's column instead.
   */
  remove(refs: readonly BlobRef[], db?: Queryable): Promise<void>;
  /** Blobs last written before `olderThan` (orphan sweep); the postgres store has none. */
  list(olderThan: Date): AsyncIterable<ListedBlob>;
  /**
   * Removes writes that never finished and were started before `olderThan`
   * (a pod killed mid-upload: a temporary file, an incomplete multipart
   * upload). Returns how many.
   */
  sweepIncomplete(olderThan: Date): Promise<number>;
  /** What a worker thread needs to reach this store by itself. */
  workerAccess(): WorkerBlobAccess;
  close(): Promise<void>;
}

/** Why a store failed, told so a client can act: gone (404/410), full (507), unreachable or slow (503). */
export type BlobFault = 'not-found' | 'full' | 'unavailable' | 'misconfigured';

export class BlobStoreError extends Error {
  constructor(
    readonly fault: BlobFault,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BlobStoreError';
  }
}

export class BlobNotFoundError extends BlobStoreError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('not-found', `${what} is missing from the blob store`, options);
    this.name = 'BlobNotFoundError';
  }
}

export function isBlobStoreError(err: unknown, fault?: BlobFault): err is BlobStoreError {
  return err instanceof BlobStoreError && (fault === undefined || err.fault === fault);
}

const KIND_FOLDERS: Readonly<Record<BlobKind, string>> = Object.freeze({ original: 'originals', result: 'results' });

/**
 * A new key: `originals/3f/3f2a…` or `results/…`. Random, so two pods never
 * pick the same one and nothing about a photo can be guessed from it; the
 * two-character folder keeps any one directory small.
 */
export function newBlobKey(kind: BlobKind, uuid: string): string {
  const id = uuid.toLowerCase();
  return `${KIND_FOLDERS[kind]}/${id.slice(0, 2)}/${id}`;
}

/** The kind a key names, or null for a key that is not one of ours. */
export function kindOfKey(key: string): BlobKind | null {
  const m = /^(originals|results)\/[0-9a-f]{2}\/[0-9a-f-]{36}$/.exec(key);
  if (!m) return null;
  return m[1] === 'originals' ? 'original' : 'result';
}
