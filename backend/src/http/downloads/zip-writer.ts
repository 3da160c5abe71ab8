/**
 * A ZIP written as a stream, entry after entry, with backpressure end to
 * end (yazl: each entry's stream is piped through its CRC and size counters
 * into the output, and the output is piped to the socket). An entry's bytes
 * are opened only when its turn comes, so however slow the reader, a ZIP
 * holds one entry's source and a few pipe buffers (16 KiB each) in memory.
 *
 * Entries are stored, not deflated: JPEG, WebP, AVIF and PNG do not
 * compress further. Every size is known before the first byte, so the
 * ZIP's total size is too (yazl computes it, ZIP64 records included): the
 * response carries a Content-Length, and a transfer cut short is visibly
 * short to any client.
 */
import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';

export interface ZipEntry {
  /** `/`-separated path inside the ZIP. */
  name: string;
  /** Exact size in bytes; a stream of another length fails the ZIP. */
  size: number;
  mtime: Date;
  open(): Promise<Readable>;
}

export interface ZipStream {
  /** The archive's bytes; errors (an entry that cannot be opened or is not its size) are errors of this stream. */
  stream: Readable;
  /** Its exact length in bytes. */
  size: number;
}

export function zipStream(entries: readonly ZipEntry[]): ZipStream {
  const zip = new ZipFile();
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- yazl makes it a PassThrough; its types say only the interface
  const output = zip.outputStream as Readable;
  let current: Readable | undefined;
  let stopped = false;
  const fail = (err: unknown) => {
    stopped = true;
    current?.destroy();
    output.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  zip.on('error', fail);
  // The reader went away (or the ZIP failed): stop the entry being read; no further entry is opened.
  output.once('close', () => {
    stopped = true;
    current?.destroy();
  });
  for (const entry of entries) {
    zip.addReadStreamLazy(entry.name, { size: entry.size, mtime: entry.mtime, compress: false }, (callback) => {
      if (stopped) return;
      entry.open().then((source) => {
        if (stopped) {
          source.destroy();
          return;
        }
        current = source;
        source.once('error', fail);
        callback(null, source);
      }, fail);
    });
  }
  let size = -1;
  // Called synchronously by end() here: every entry's size was given.
  (zip.end as (options: object, onSize: (total: number) => void) => void)({}, (total) => {
    size = total;
  });
  if (size < 0) throw new Error('the ZIP size could not be computed');
  return { stream: output, size };
}
