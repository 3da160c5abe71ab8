/** Messages between the event loop and the resize worker threads. */
import type { ResizeRules } from '../imaging/index.js';

export interface ResizeTask {
  /** The encoded image. Transferred to the worker, not copied. */
  bytes: ArrayBuffer;
  rules: ResizeRules;
}

export type ResizeTaskResult =
  | {
      ok: true;
      /** The JPEG, transferred back. */
      data: ArrayBuffer;
      width: number;
      height: number;
      inputWidth: number;
      inputHeight: number;
      format: string;
      /** Time inside the worker, milliseconds. */
      workMs: number;
    }
  | { ok: false; code: string; error: string; workMs: number };

/**
 * An ArrayBuffer holding exactly `bytes`, safe to transfer: a view into a
 * larger buffer (pg's socket buffers, Node's pooled allocations) is copied
 * once, since transferring it would detach memory others still use.
 */
export function ownedArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return bytes.buffer;
  }
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
