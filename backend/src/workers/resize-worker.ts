/**
 * Runs in a worker thread: decodes, resizes and encodes one image. The event
 * loop never touches pixels; bytes come in and go out as transferred
 * ArrayBuffers.
 */
import { performance } from 'node:perf_hooks';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { isBlobStoreError, type BlobStoreError } from '../blobs/blob-store.js';
import { storeForWorker } from '../blobs/worker-stores.js';
import { isImageError, renderImage } from '../imaging/index.js';
import { freeBuffer } from '../util/free-buffer.js';
import { ownedArrayBuffer, type ResizeTask, type ResizeTaskResult } from './resize-task.js';

// Every image is different: libvips' operation cache can never hit, it only holds memory.
sharp.cache(false);

/**
 * A transferred input (3–5 MB) is freed only when this thread's isolate
 * collects its ArrayBuffer: left to itself V8 waits for ~64 MB of dead
 * inputs per thread (measured, RSS climbed from 280 to 470 MiB over 200
 * photos). Detaching the input once libvips is done with it (freeBuffer)
 * frees it at once with no collection; the per-task minor GC this replaced
 * (Node 20 could not detach) cost 2–4 ms of CPU per photo on this and V8's
 * helper threads.
 */

/** The original's bytes: transferred with the task, or read from the store by this thread. */
async function originalOf(task: ResizeTask): Promise<{ bytes: Uint8Array; owned: ArrayBuffer | undefined }> {
  if (task.source.kind === 'bytes') return { bytes: new Uint8Array(task.source.bytes), owned: task.source.bytes };
  const store = await storeForWorker(task.source.access);
  if (!store) throw new Error('a blob source needs a store the worker can reach');
  const read = await store.read(task.source.ref);
  return { bytes: read, owned: undefined };
}

/** A store's failure as the image's outcome: a missing original fails it, a full or unreachable store is worth another try. */
function storeFailure(err: BlobStoreError): { code: string; error: string } {
  if (err.fault === 'not-found') return { code: 'ORIGINAL_MISSING', error: `${err.message}: upload it again` };
  if (err.fault === 'full') return { code: 'STORAGE_FULL', error: err.message };
  return { code: 'STORAGE_UNAVAILABLE', error: err.message };
}

export default async function resize(task: ResizeTask): Promise<ResizeTaskResult> {
  const started = performance.now();
  try {
    const control = task.timeoutSeconds ? { timeoutSeconds: task.timeoutSeconds } : {};
    const input = await originalOf(task);
    // libvips has let go of the input once this settles (either way), so it can be freed at once.
    const out = await renderImage(input.bytes, task.options, task.rules, control).finally(() => freeBuffer(input.owned ?? input.bytes));
    const base = {
      width: out.width,
      height: out.height,
      inputWidth: out.input.width,
      inputHeight: out.input.height,
      format: out.input.format,
      outputFormat: out.format,
      quality: out.quality,
    };
    const store = task.sink && (await storeForWorker(task.sink));
    if (store) {
      const staged = await store.put('result', out.data);
      return { ok: true, ...base, blob: { key: staged.key!, size: staged.size }, workMs: performance.now() - started };
    }
    // Hand the result's memory over to the main thread instead of copying it.
    const data = ownedArrayBuffer(out.data);
    const result: ResizeTaskResult = { ok: true, ...base, data, workMs: performance.now() - started };
    // Piscina posts a moved object's `valueSymbol` with its `transferableSymbol` as the transfer list.
    const movable = { [valueSymbol]: result, [transferableSymbol]: [data] };
    return move(movable) as unknown as ResizeTaskResult;
  } catch (err) {
    const workMs = performance.now() - started;
    if (isImageError(err)) return { ok: false, code: err.code, error: err.message, workMs };
    if (isBlobStoreError(err)) return { ok: false, ...storeFailure(err), workMs };
    return { ok: false, code: 'PROCESSING_ERROR', error: err instanceof Error ? err.message : String(err), workMs };
  }
}
