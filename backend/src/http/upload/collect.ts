/**
 * Reads a part into one buffer of its own (exactly its size, so it can be
 * transferred to a worker thread as it is). busboy's chunks are kept as they
 * come (it copies any it would reuse) and copied once into place at the end:
 * each copy of a 3–5 MB photo into fresh memory costs the event loop a
 * millisecond or more. A part past its size limit is drained (so the next
 * part can be read) but kept nothing of. The signal ends the read when the
 * request is given up, whatever the part's stream does.
 */
import type { Readable } from 'node:stream';

export interface CollectedPart {
  bytes: Buffer;
  truncated: boolean;
}

export function collect(stream: Readable, signal: AbortSignal): Promise<CollectedPart> {
  return new Promise<CollectedPart>((resolve, reject) => {
    let chunks: Buffer[] = [];
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
      chunks = [];
      stream.resume();
      reject(signal.reason);
    };
    const onError = (err: Error) => {
      cleanup();
      chunks = [];
      reject(err);
    };
    const onLimit = () => {
      truncated = true;
      chunks = [];
    };
    const onData = (data: Buffer) => {
      if (truncated) return;
      chunks.push(data);
      total += data.length;
    };
    const onEnd = () => {
      cleanup();
      if (truncated) {
        resolve({ bytes: Buffer.alloc(0), truncated });
        return;
      }
      // Never from Node's shared pool, even when small: the buffer must own its memory to be transferred or freed.
      const bytes = Buffer.allocUnsafeSlow(total);
      let offset = 0;
      for (const c of chunks) offset += c.copy(bytes, offset);
      chunks = [];
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
