/**
 * The shared upload queue (api-policy/upload-queue.ts) bound to the
 * backend's contract: what a 2xx upload answer holds, and the hosts' timers.
 * The main process's Uploader and the page's BrowserUploads each give it a
 * wire and nothing else.
 */
import type { UploadFileResult } from '@imgfleet/backend/contract';
import { UploadQueue, type QueuedFile, type UploadQueueOptions, type UploadWire } from './api-policy/index.js';

/** The one file's result in a 2xx answer to POST /api/v1/images (one file per request), or null when there is none. */
export function readUploadAnswer(body: unknown): { batchId: string; result: UploadFileResult } | null {
  if (typeof body !== 'object' || body === null) return null;
  const { batchId, images } = body as { batchId?: unknown; images?: unknown };
  const result: unknown = Array.isArray(images) ? images[0] : undefined;
  if (typeof batchId !== 'string' || typeof result !== 'object' || result === null) return null;
  const { id, status } = result as { id?: unknown; status?: unknown };
  if (typeof id !== 'number' || typeof status !== 'string') return null;
  return { batchId, result: result as UploadFileResult };
}

const hostTimers = {
  set: (run: () => void, ms: number): unknown => setTimeout(run, ms),
  clear: (handle: unknown): void => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

export function createUploadQueue<F extends QueuedFile>(
  wire: UploadWire<F>,
  options: Omit<UploadQueueOptions<UploadFileResult>, 'readAnswer' | 'timers'>,
): UploadQueue<F, UploadFileResult> {
  return new UploadQueue(wire, { ...options, timers: hostTimers, readAnswer: readUploadAnswer });
}
