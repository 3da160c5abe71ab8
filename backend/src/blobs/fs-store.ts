/**
 * The filesystem store, the default: a folder (BLOB_DIR), in Kubernetes a
 * ReadWriteMany volume every backend pod mounts (as Immich keeps its files).
 *
 *   <dir>/originals/3f/3f2a…   an uploaded original
 *   <dir>/results/9c/9c01…     a worker's result
 *   <dir>/.tmp/<uuid>.part     a write in progress
 *
 * A blob is written to a temporary file, fsynced, renamed into place and its
 * folder fsynced before `finish` resolves: once the row that names it
 * commits, the file is there whatever happens to the pod next. Keys are
 * checked before they become paths, so nothing a row holds can point
 * outside the folder.
 */
import { randomUUID } from 'node:crypto';
import { WriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  BlobStoreError,
  kindOfKey,
  newBlobKey,
  type BlobKind,
  type BlobRef,
  type BlobStore,
  type BlobWriter,
  type ByteRange,
  type ListedBlob,
  type StagedBlob,
  type WorkerBlobAccess,
} from './blob-store.js';
import { fsFault, fsWriteFault, isMissing } from './fs-errors.js';

const KIND_DIRS = ['originals', 'results'] as const;

async function ignoreMissing(op: Promise<unknown>): Promise<void> {
  try {
    await op;
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/** Makes a rename in `dir` durable: the folder's own entry list is flushed. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface FilesystemStoreOptions {
  /** Create the folder when it is missing (the default folder under DATA_DIR); a configured volume must exist. */
  create?: boolean;
}

export class FilesystemBlobStore implements BlobStore {
  readonly kind = 'filesystem' as const;
  private readonly tmp: string;

  constructor(
    readonly dir: string,
    private readonly options: FilesystemStoreOptions = {},
  ) {
    this.tmp = path.join(dir, '.tmp');
  }

  /** The file a key names; refuses anything that is not one of our keys. */
  pathOf(key: string): string {
    if (kindOfKey(key) === null) throw new BlobStoreError('misconfigured', `"${key}" is not a blob key of this store`);
    return path.join(this.dir, key);
  }

  async check(): Promise<void> {
    try {
      const info = await stat(this.dir);
      if (!info.isDirectory()) throw new BlobStoreError('misconfigured', `BLOB_DIR ${this.dir} is not a folder`);
    } catch (err) {
      if (!isMissing(err)) throw fsFault(err, 'reading its folder', this.dir);
      if (!this.options.create) {
        throw new BlobStoreError('misconfigured', `BLOB_DIR ${this.dir} does not exist: is the blob volume mounted?`, { cause: err });
      }
      await mkdir(this.dir, { recursive: true }).catch((e: unknown) => {
        throw fsFault(e, 'creating its folder', this.dir);
      });
    }
    const probe = path.join(this.tmp, `probe-${randomUUID()}`);
    try {
      // Not recursive: Node's recursive mkdir says ENOENT, not EROFS, on a read-only volume.
      await mkdir(this.tmp).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      });
      await writeFile(probe, 'imgfleet', { flush: true });
      await unlink(probe);
    } catch (err) {
      await ignoreMissing(unlink(probe)).catch(() => undefined);
      throw fsWriteFault(err, 'writing a test file', this.dir);
    }
  }

  create(kind: BlobKind): BlobWriter {
    return new FileWriter(this, kind, newBlobKey(kind, randomUUID()), this.tmp);
  }

  async put(kind: BlobKind, bytes: Uint8Array): Promise<StagedBlob> {
    const writer = this.create(kind);
    writer.stream.end(bytes);
    return writer.finish();
  }

  async attach(): Promise<void> {
    // The row's key is all it takes: the file is already in place.
  }

  async discard(blob: StagedBlob): Promise<void> {
    if (blob.key) await this.unlinkKey(blob.key);
  }

  async open(ref: BlobRef, range?: ByteRange): Promise<Readable> {
    const file = this.fileOf(ref);
    try {
      const handle = await open(file, 'r');
      return handle.createReadStream(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {});
    } catch (err) {
      throw fsFault(err, `the ${ref.kind} of image ${ref.imageId}`, this.dir);
    }
  }

  async read(ref: BlobRef): Promise<Buffer> {
    try {
      return await readFile(this.fileOf(ref));
    } catch (err) {
      throw fsFault(err, `the ${ref.kind} of image ${ref.imageId}`, this.dir);
    }
  }

  async size(ref: BlobRef): Promise<number | null> {
    try {
      return (await stat(this.fileOf(ref))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw fsFault(err, `the ${ref.kind} of image ${ref.imageId}`, this.dir);
    }
  }

  async remove(refs: readonly BlobRef[]): Promise<void> {
    for (const ref of refs) if (ref.key) await this.unlinkKey(ref.key);
  }

  async *list(olderThan: Date): AsyncIterable<ListedBlob> {
    for (const kindDir of KIND_DIRS) {
      for (const fan of await this.entries(path.join(this.dir, kindDir))) {
        for (const name of await this.entries(path.join(this.dir, kindDir, fan))) {
          const key = `${kindDir}/${fan}/${name}`;
          const kind = kindOfKey(key);
          if (!kind) continue;
          const info = await stat(path.join(this.dir, key)).catch(() => undefined);
          if (info && info.mtime < olderThan) yield { key, kind, size: info.size, modifiedAt: info.mtime };
        }
      }
    }
  }

  async sweepIncomplete(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const name of await this.entries(this.tmp)) {
      const file = path.join(this.tmp, name);
      const info = await stat(file).catch(() => undefined);
      if (info && info.mtime < olderThan) {
        await ignoreMissing(unlink(file));
        removed++;
      }
    }
    return removed;
  }

  workerAccess(): WorkerBlobAccess {
    return { kind: 'filesystem', dir: this.dir };
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  private fileOf(ref: BlobRef): string {
    if (!ref.key) throw new BlobStoreError('misconfigured', `image ${ref.imageId}'s ${ref.kind} has no blob key`);
    return this.pathOf(ref.key);
  }

  private async unlinkKey(key: string): Promise<void> {
    try {
      await ignoreMissing(unlink(this.pathOf(key)));
    } catch (err) {
      throw fsFault(err, `removing ${key}`, this.dir);
    }
  }

  private async entries(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw fsFault(err, `listing ${dir}`, this.dir);
    }
  }
}

/**
 * A blob's temporary file as a stream whose errors are BlobStoreErrors, as
 * the S3 spool's are: whatever pipes an upload into it (and answers the
 * client from the pipe's failure) learns the store is full or unusable,
 * not an errno it knows nothing of. (@types/node gives fs.WriteStream no
 * constructor of its own; at run time it takes the path and options.)
 */
const FileStream = WriteStream as unknown as new (file: string, options: { flags: string; flush: boolean }) => WriteStream;
class TempFileStream extends FileStream {
  constructor(
    file: string,
    private readonly what: string,
    private readonly dir: string,
  ) {
    // `flush`: fsync before close, so the bytes are on disk before the rename that publishes them.
    super(file, { flags: 'wx', flush: true });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    super._destroy(err, (e) => callback(e ? fsWriteFault(e, this.what, this.dir) : e));
  }
}

/** One blob being streamed to a temporary file, then renamed into place. */
class FileWriter implements BlobWriter {
  readonly stream: WriteStream;
  private readonly temp: string;
  /** Settles once the file is closed: resolved if every byte was written (and fsynced), rejected otherwise. */
  private readonly written: Promise<void>;
  private state: 'writing' | 'finished' | 'aborted' = 'writing';

  constructor(
    private readonly store: FilesystemBlobStore,
    private readonly kind: BlobKind,
    private readonly key: string,
    tmp: string,
  ) {
    this.temp = path.join(tmp, `${path.basename(key)}.part`);
    this.stream = new TempFileStream(this.temp, `writing ${key}`, store.dir);
    this.written = new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.once('close', () => (this.stream.writableFinished ? resolve() : reject(new Error('the write was cut off before its end'))));
    });
    // Observed by finish() or abort(); never an unhandled rejection meanwhile.
    this.written.catch(() => undefined);
  }

  async finish(): Promise<StagedBlob> {
    if (this.state === 'aborted') throw new BlobStoreError('unavailable', `the write of ${this.key} was aborted`);
    const final = this.store.pathOf(this.key);
    try {
      await this.written;
      await mkdir(path.dirname(final), { recursive: true });
      await rename(this.temp, final);
      await syncDir(path.dirname(final));
    } catch (err) {
      await ignoreMissing(unlink(this.temp)).catch(() => undefined);
      throw fsWriteFault(err, `writing ${this.key}`, this.store.dir);
    }
    if (this.wasAborted()) {
      // Aborted while it was being renamed: the abort could not see the final file yet.
      await ignoreMissing(unlink(final)).catch(() => undefined);
      throw new BlobStoreError('unavailable', `the write of ${this.key} was aborted`);
    }
    this.state = 'finished';
    return { kind: this.kind, key: this.key, size: this.stream.bytesWritten };
  }

  /** Read through a method: `abort` may change the state while `finish` awaits. */
  private wasAborted(): boolean {
    return this.state === 'aborted';
  }

  async abort(): Promise<void> {
    const was = this.state;
    this.state = 'aborted';
    if (!this.stream.closed) {
      this.stream.destroy();
      await this.written.catch(() => undefined);
    }
    await ignoreMissing(unlink(this.temp)).catch(() => undefined);
    if (was === 'finished') await ignoreMissing(unlink(this.store.pathOf(this.key))).catch(() => undefined);
  }
}
