/** Messages between the event loop and the resize worker threads. */
import { isMarkedAsUntransferable } from 'node:worker_threads';
import type { OutputFormat, OutputOptions } from '../contract/output-options.js';
import type { BlobRef, WorkerBlobAccess } from '../blobs/blob-store.js';
import type { ResizeRules } from '../imaging/index.js';
import { ownsWholeArrayBuffer } from '../util/free-buffer.js';

/** Where the worker finds the original: bytes transferred with the task, or a blob it reads itself. */
export type TaskSource = { kind: 'bytes'; bytes: ArrayBuffer } | { kind: 'blob'; access: WorkerBlobAccess; ref: BlobRef };

export interface ResizeTask {
  source: TaskSource;
  /** Where the result goes: back as bytes (absent), or into this store by the worker itself. */
  sink?: WorkerBlobAccess;
  /** Input limits (maxPixels, maxBytes). */
  rules: ResizeRules;
  /** The image's output options, resolved once at upload (or from the server's defaults for an earlier row). */
  options: OutputOptions;
  /** libvips' own time limit in whole seconds (0: none); the pool's abort is the backstop. */
  timeoutSeconds?: number;
}

/**
 * Codes of a failed result besides the image's own (ImageErrorCode):
 * TIMEOUT (over the time limit; the thread was stopped), ABORTED (the
 * caller's signal), ORIGINAL_MISSING (its blob is gone from the store),
 * STORAGE_FULL / STORAGE_UNAVAILABLE (the result could not be stored: worth
 * another try), PROCESSING_ERROR (anything unexpected).
 */
export type ResizeTaskResult =
  | {
      ok: true;
      /** The encoded output, transferred back (no sink)… */
      data?: ArrayBuffer;
      /** …or where the worker stored it (a sink). */
      blob?: { key: string; size: number };
      width: number;
      height: number;
      inputWidth: number;
      inputHeight: number;
      /** The input's format (jpeg, png, webp, heif, tiff, gif). */
      format: string;
      outputFormat: OutputFormat;
      /** The quality it was encoded at (maxBytes: the one chosen). */
      quality: number;
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
  if (ownsWholeArrayBuffer(bytes) && !isMarkedAsUntransferable(bytes.buffer)) return bytes.buffer;
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
