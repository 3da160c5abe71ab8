/**
 * Streams one part of an upload into a new blob, never holding the whole
 * file: its first bytes are kept for the header check (a JPEG's or PNG's
 * size and type are in its first kilobytes), the rest go straight to the
 * store with backpressure (a slow store slows the client, not our memory).
 * The fingerprint of an Idempotency-Key sees every chunk as it passes.
 *
 * A part past its size limit is read to its end (so the next part can be)
 * and its blob given up. The signal ends the read when the request is given
 * up, whatever the part's stream does.
 */
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobWriter } from '../../blobs/blob-store.js';

/** Enough for any header we read: EXIF, ICC and XMP segments come before a JPEG's frame header. */
export const HEAD_BYTES = 1024 * 1024;

export interface ReceivedPart {
  /** The first HEAD_BYTES (or fewer) bytes. */
  head: Buffer;
  size: number;
  /** Past the size limit: not kept (the writer was left for the caller to abort). */
  truncated: boolean;
}

export async function receivePart(stream: Readable, writer: BlobWriter, signal: AbortSignal, onChunk: (chunk: Buffer) => void): Promise<ReceivedPart> {
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  let truncated = false;
  stream.once('limit', () => {
    truncated = true;
  });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      onChunk(chunk);
      if (headBytes < HEAD_BYTES) {
        const take = chunk.subarray(0, HEAD_BYTES - headBytes);
        // A copy: busboy's chunks are views into the socket's reads, kept alive by any slice.
        head.push(Buffer.from(take));
        headBytes += take.length;
      }
      // Past the limit nothing more is kept: the caller aborts the blob.
      done(null, truncated ? undefined : chunk);
    },
  });
  await pipeline(stream, tap, writer.stream, { signal });
  return { head: Buffer.concat(head, headBytes), size, truncated };
}
