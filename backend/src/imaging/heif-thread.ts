/**
 * HEIF decoding off the calling thread, for callers that must not block:
 * the desktop's main process (previews, "Resize locally"). The server's
 * worker threads decode in place (heif-decode.ts). The same decoder runs
 * either way, so the bytes are the same. One thread, started on first use
 * and not keeping the process alive; decodes queue in it one at a time.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ImageError, type ImageErrorCode } from './errors.js';
import type { HeifDecodeInput } from './heif-decode.js';

type Reply = { id: number; ok: true; tiff: Uint8Array } | { id: number; ok: false; code: ImageErrorCode; message: string };

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (tiff: Buffer) => void; reject: (err: Error) => void }>();

/**
 * The worker's file: beside this module when run from the compiled ES
 * modules; beside the bundle (heif-worker.cjs, built by the desktop's
 * build-renderer.mjs) in the packaged app's CommonJS main process.
 */
function workerFile(): string | URL {
  return typeof __dirname === 'string' ? path.join(__dirname, 'heif-worker.cjs') : new URL('./heif-worker.js', import.meta.url);
}

function failAll(err: Error): void {
  for (const pending of waiting.values()) pending.reject(err);
  waiting.clear();
  worker = null;
}

function started(): Worker {
  if (worker) return worker;
  const created = new Worker(workerFile());
  created.unref();
  created.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    if (!pending) return;
    waiting.delete(reply.id);
    if (reply.ok) pending.resolve(Buffer.from(reply.tiff.buffer, reply.tiff.byteOffset, reply.tiff.byteLength));
    else pending.reject(new ImageError(reply.code, reply.message));
  });
  created.on('error', (err: Error) => failAll(new ImageError('CORRUPT_IMAGE', `the HEIF decoder stopped (${err.message})`)));
  created.on('exit', () => failAll(new ImageError('CORRUPT_IMAGE', 'the HEIF decoder stopped')));
  worker = created;
  return created;
}

/** decodeHeif, run in a thread of its own (a HeifDecoder for renderImage and loadableInput). */
export function decodeHeifOffThread(input: HeifDecodeInput): Promise<Buffer> {
  const thread = started();
  const id = nextId++;
  return new Promise<Buffer>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    thread.ref();
    // The bytes are copied across (the caller keeps its file); the TIFF comes back transferred.
    thread.postMessage({ id, bytes: input.bytes, icc: input.icc });
  }).finally(() => {
    if (waiting.size === 0) worker?.unref();
  });
}
