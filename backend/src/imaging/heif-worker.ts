/**
 * The thread heif-thread.ts runs HEIF decodes in: one decode at a time
 * (each holds a WebAssembly instance of ~10 bytes a pixel), the TIFF
 * transferred back, failures sent as the image's error.
 */
import { parentPort } from 'node:worker_threads';
import { isImageError } from './errors.js';
import { decodeHeif } from './heif-decode.js';

interface Request {
  id: number;
  bytes: Uint8Array;
  icc?: Uint8Array | undefined;
}

const port = parentPort;
if (port) {
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (request: Request) => {
    queue = queue.then(async () => {
      try {
        const tiff = await decodeHeif({ bytes: request.bytes, icc: request.icc });
        // A fresh ArrayBuffer of its own, so it can be transferred rather than copied.
        const owned = new Uint8Array(tiff.length);
        owned.set(tiff);
        port.postMessage({ id: request.id, ok: true, tiff: owned }, [owned.buffer]);
      } catch (err) {
        const code = isImageError(err) ? err.code : 'CORRUPT_IMAGE';
        port.postMessage({ id: request.id, ok: false, code, message: err instanceof Error ? err.message : String(err) });
      }
    });
  });
}
