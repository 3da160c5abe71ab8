/**
 * Uploads from the page: the shared upload queue (shared/uploads.ts, the
 * same one the desktop's main process runs) over a wire of one XHR per
 * attempt (XHR reports upload progress, fetch does not). The queue decides
 * concurrency, retries under one Idempotency-Key per file, the time limits
 * and Cancel; this module only sends the bytes and says what came back.
 */
import { IDEMPOTENCY_HEADER, type UploadQueue, type UploadWire, type WireResult } from '../../shared/api-policy/index.js';
import { createUploadQueue } from '../../shared/uploads.js';
import type { BrowserSettings } from './browser-settings.js';
import { errorMessage, type LocalFile, type Platform, type UploadFileResult, type UploadItem, type UploadSummary } from './platform.js';

type UploadCallbacks = Parameters<Platform['upload']>[2];

export class BrowserUploads {
  private readonly queue: UploadQueue<UploadItem, UploadFileResult>;

  constructor(
    private readonly origin: string,
    private readonly settings: BrowserSettings,
    private readonly fileOf: (local: LocalFile) => File,
  ) {
    this.queue = createUploadQueue(this.wire(), {
      concurrency: settings.stored().uploadConcurrency,
      // Read at each attempt: a test (or a deployment) may change them in storage while the page runs.
      timeouts: () => settings.uploadTimeouts(),
    });
  }

  upload(batchId: string, list: readonly UploadItem[], on: UploadCallbacks): Promise<UploadSummary> {
    // The setting may have changed in the Settings dialog since the last upload.
    this.queue.setConcurrency(this.settings.stored().uploadConcurrency);
    return this.queue.upload(batchId, list, { onProgress: on.progress, onResult: on.result });
  }

  /** Stops every upload on the wire or waiting; returns how many that was. */
  cancel(): number {
    return this.queue.cancel();
  }

  private wire(): UploadWire<UploadItem> {
    return {
      baseUrl: () => this.origin,
      send: ({ batchId, file: local, idempotencyKey, stop, progress }) => {
        let file: File;
        try {
          file = this.fileOf(local);
        } catch (err) {
          return Promise.resolve({ kind: 'failed', failure: { code: 'FORBIDDEN_PATH', message: errorMessage(err) } });
        }
        return new Promise<WireResult>((resolve) => {
          const xhr = new XMLHttpRequest();
          const stopListening = stop.onCancel(() => xhr.abort());
          const done = (result: WireResult): void => {
            stopListening();
            resolve(result);
          };
          xhr.open('POST', `${this.origin}/api/v1/images?batchId=${encodeURIComponent(batchId)}`);
          for (const [name, value] of Object.entries(this.settings.authHeaders())) xhr.setRequestHeader(name, value);
          xhr.setRequestHeader(IDEMPOTENCY_HEADER, idempotencyKey);
          xhr.responseType = 'json';
          xhr.upload.onprogress = (e) => progress(e.loaded, e.lengthComputable ? e.total : file.size);
          // The whole body is out: from now on only the answer is awaited (the queue's clock).
          xhr.upload.onload = (e) => progress(e.loaded, e.lengthComputable ? e.total : e.loaded);
          xhr.onabort = () => done({ kind: 'stopped' });
          xhr.onerror = () => done({ kind: 'unreachable' });
          xhr.onload = () => done({ kind: 'answer', status: xhr.status, body: xhr.response as unknown });
          const form = new FormData();
          // Before the file: the server checks the options before it stores anything.
          form.append('options', JSON.stringify(this.settings.outputOptions()));
          // A folder drop's relative path as the file name: the server's ZIP keeps the folders.
          form.append('images', file, local.relativePath ?? file.name);
          xhr.send(form);
        });
      },
    };
  }
}
