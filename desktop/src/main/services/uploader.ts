/**
 * The main process's uploads: the shared upload queue (shared/uploads.ts,
 * the same one the web page runs) over a wire made of the API client's
 * streamed multipart POST. The queue decides concurrency, retries under one
 * Idempotency-Key per file, the time limits and Cancel; this module only
 * turns an AbortSignal and axios's errors into the queue's terms.
 */
import type { RetryPolicy, UploadQueue, UploadTimeouts, UploadWire, WireResult } from '../../shared/api-policy/index.js';
import type { FileRef, OutputOptions, UploadFileResult, UploadOutcome, UploadProgress, UploadSummary } from '../../shared/models.js';
import { createUploadQueue } from '../../shared/uploads.js';
import { AppError, errorInfo } from './app-error.js';
import { noAnswerReason, toAppError, type ApiClient } from './api-client.js';

export interface UploaderOptions {
  /** Returns the client to use: it changes when the backend URL or token setting does. */
  client: () => ApiClient;
  concurrency: number;
  /** Retries after the first attempt, for transient failures only. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeouts?: Partial<UploadTimeouts>;
}

export interface UploadCallbacks {
  /** The batch's output options, sent with every file (the server's defaults when absent). */
  outputOptions?: OutputOptions;
  onProgress?: (progress: UploadProgress) => void;
  onResult?: (outcome: UploadOutcome) => void;
}

type QueuedRef = FileRef & { outputOptions?: OutputOptions | undefined };

/** One attempt over HTTP: the answer whatever its status, or what kept it from coming. */
function nodeWire(client: () => ApiClient): UploadWire<QueuedRef> {
  return {
    baseUrl: () => client().baseUrl,
    async send({ batchId, file, idempotencyKey, stop, progress }): Promise<WireResult> {
      const controller = new AbortController();
      const stopListening = stop.onCancel((reason) => controller.abort(new AppError(reason.code, reason.message)));
      try {
        const answer = await client().postImage(file.path, batchId, {
          signal: controller.signal,
          idempotencyKey,
          outputOptions: file.outputOptions,
          fileName: file.relativePath,
          onProgress: progress,
        });
        return { kind: 'answer', ...answer };
      } catch (err) {
        if (controller.signal.aborted) return { kind: 'stopped' };
        const unanswered = noAnswerReason(err);
        if (unanswered !== null) return { kind: 'unreachable', reason: unanswered };
        // The file could not be read (moved, permissions): another try reads the same nothing.
        return { kind: 'failed', failure: errorInfo(toAppError(err, client().baseUrl)) };
      } finally {
        stopListening();
      }
    },
  };
}

export class Uploader {
  private readonly queue: UploadQueue<QueuedRef, UploadFileResult>;

  constructor(options: UploaderOptions) {
    const retry: Partial<RetryPolicy> = {
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
      ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
    };
    this.queue = createUploadQueue(nodeWire(options.client), {
      concurrency: options.concurrency,
      retry,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
  }

  setConcurrency(concurrency: number): void {
    this.queue.setConcurrency(concurrency);
  }

  /** Files queued or on the wire. */
  get inFlight(): number {
    return this.queue.inFlight;
  }

  /** Uploads every file into `batchId`; resolves when each has an outcome. */
  upload(batchId: string, files: readonly FileRef[], callbacks: UploadCallbacks = {}): Promise<UploadSummary> {
    const { outputOptions, onProgress, onResult } = callbacks;
    return this.queue.upload(
      batchId,
      files.map((file) => ({ ...file, outputOptions })),
      { ...(onProgress ? { onProgress } : {}), ...(onResult ? { onResult } : {}) },
    );
  }

  /** Aborts all uploads in flight or waiting; later upload() calls work normally. */
  cancel(): number {
    return this.queue.cancel();
  }
}
