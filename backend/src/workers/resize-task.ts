/** Messages between the event loop and the resize worker threads. */
import * as workerThreads from 'node:worker_threads';
import type { ResizeRules } from '../imaging/index.js';

/** Node ≥ 21 (absent from Node 20, where nothing is marked untransferable). */
const isMarkedAsUntransferable = (workerThreads as { isMarkedAsUntransferable?: (value: object) => boolean }).isMarkedAsUntransferable;

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
 * once, since transferring it would detach memory others still use. So is a
 * buffer Node marks untransferable: on Node 24 that includes the external
 * memory of sharp's output, and posting it fails with DataCloneError.
 */
export function ownedArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    !isMarkedAsUntransferable?.(bytes.buffer)
  ) {
    return bytes.buffer;
  }
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
