/**
 * Reads a part into one buffer of its own (exactly its size, so it can be
 * transferred to a worker thread as it is). busboy hands out many small
 * chunks; they are gathered in 1 MiB blocks, then copied once into place.
 * A part past its size limit is drained (so the next part can be read) but
 * kept nothing of. The signal ends the read when the request is given up,
 * whatever the part's stream does.
 */
import type { Readable } from 'node:stream';
import { freeBuffer } from '../../util/free-buffer.js';

export interface CollectedPart {
  bytes: Buffer;
  truncated: boolean;
}

const BLOCK = 1024 * 1024;

export function collect(stream: Readable, signal: AbortSignal): Promise<CollectedPart> {
  return new Promise<CollectedPart>((resolve, reject) => {
    const blocks: Buffer[] = [];
    let block = Buffer.allocUnsafe(BLOCK);
    let used = 0;
    let total = 0;
    let truncated = false;
    const cleanup = () => {
      signal.removeEventListener('abort', onAbort);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('limit', onLimit);
    };
    const onAbort = () => {
      cleanup();
      stream.resume();
      reject(signal.reason);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onLimit = () => {
      truncated = true;
    };
    const onData = (data: Buffer) => {
      if (truncated) return;
      let chunk = data;
      total += chunk.length;
      while (chunk.length > 0) {
        const n = chunk.copy(block, used);
        used += n;
        chunk = chunk.subarray(n);
        if (used === BLOCK) {
          blocks.push(block);
          block = Buffer.allocUnsafe(BLOCK);
          used = 0;
        }
      }
    };
    const onEnd = () => {
      cleanup();
      if (truncated) {
        resolve({ bytes: Buffer.alloc(0), truncated });
        return;
      }
      const bytes = Buffer.allocUnsafeSlow(total);
      let offset = 0;
      for (const b of blocks) {
        offset += b.copy(bytes, offset);
        freeBuffer(b);
      }
      block.copy(bytes, offset, 0, used);
      freeBuffer(block);
      resolve({ bytes, truncated });
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('limit', onLimit);
    stream.on('error', onError);
    stream.on('end', onEnd);
    stream.on('data', onData);
  });
}
