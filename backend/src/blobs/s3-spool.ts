/**
 * The file an upload is spooled to while it arrives (see s3-writer.ts for
 * why): a private file in the pod's temporary folder, written with the
 * stream's own backpressure. Its failures say what they mean for the
 * store: the pod's folder is full (507) or cannot be written (not ready),
 * so the code piping an upload into it needs no knowledge of errno codes.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { BlobStoreError } from './blob-store.js';

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const UNUSABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EEXIST']);

/** The BlobStoreError for a spool file's I/O failure. */
export function spoolError(err: unknown, folder: string): BlobStoreError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  if (FULL.has(code)) return new BlobStoreError('full', `S3 store: the upload spool folder ${folder} is full (${code})`, { cause: err });
  if (UNUSABLE.has(code)) return new BlobStoreError('misconfigured', `S3 store: cannot write the upload spool folder ${folder} (${code})`, { cause: err });
  return new BlobStoreError('unavailable', `S3 store: writing the upload spool folder ${folder} failed (${code})`, { cause: err });
}

export class SpoolFile extends Writable {
  private handle: FileHandle | undefined;
  /** Bytes written to the file so far. */
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly folder: string,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    // 'wx': a file of our own, never one that was already there.
    open(this.path, 'wx', 0o600).then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (err: unknown) => callback(spoolError(err, this.folder)),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writeAll(chunk).then(
      () => callback(),
      (err: unknown) => callback(spoolError(err, this.folder)),
    );
  }

  /** A write may be short (a disk filling up): the rest follows, or its error. */
  private async writeAll(chunk: Buffer): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('the spool file is closed');
    for (let offset = 0; offset < chunk.length;) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
      this.bytes += bytesWritten;
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) {
      callback(err);
      return;
    }
    handle.close().then(
      () => callback(err),
      (closeErr: unknown) => callback(err ?? spoolError(closeErr, this.folder)),
    );
  }
}
