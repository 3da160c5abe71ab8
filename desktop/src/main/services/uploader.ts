/**
 * Uploads files to the backend, one multipart request per file so each has
 * its own progress and its own outcome. The rules are the shared client
 * policy's (shared/api-policy): at most `concurrency` requests at once;
 * network failures (and 502/503/504/429) retried with exponential backoff and
 * jitter, under one Idempotency-Key per file so a retry never stores it
 * twice; each attempt within the upload time limits. `cancel()` aborts
 * everything in flight and everything still queued through one
 * AbortController.
 */
import path from 'node:path';
import {
  DEFAULT_RETRY,
  DEFAULT_UPLOAD_TIMEOUTS,
  newIdempotencyKey,
  withRetries,
  type AttemptResult,
  type RetryPolicy,
  type UploadTimeouts,
} from '../../shared/api-policy/index.js';
import type { FileRef, OutputOptions, UploadOutcome, UploadProgress, UploadSummary } from '../../shared/models.js';
import { AppError, errorInfo } from './app-error.js';
import { isTransient, type ApiClient } from './api-client.js';
import { createLimiter, sleep, type Limiter } from './limiter.js';

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

export class Uploader {
  private readonly client: () => ApiClient;
  private readonly retry: RetryPolicy;
  private readonly timeouts: UploadTimeouts;
  private readonly limiter: Limiter;
  private controller = new AbortController();
  /** Files queued or in flight, so cancel() can report how many it stopped. */
  private pending = 0;

  constructor(options: UploaderOptions) {
    this.client = options.client;
    this.retry = {
      retries: options.retries ?? DEFAULT_RETRY.retries,
      baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    };
    this.timeouts = { ...DEFAULT_UPLOAD_TIMEOUTS, ...options.timeouts };
    this.limiter = createLimiter(options.concurrency);
  }

  setConcurrency(concurrency: number): void {
    this.limiter.setConcurrency(concurrency);
  }

  get inFlight(): number {
    return this.pending;
  }

  /** Uploads every file into `batchId`; resolves when each has an outcome. */
  async upload(batchId: string, files: readonly FileRef[], callbacks: UploadCallbacks = {}): Promise<UploadSummary> {
    const signal = this.controller.signal;
    const summary: UploadSummary = { batchId, accepted: 0, rejected: 0, failed: 0, cancelled: 0, outcomes: [] };
    this.pending += files.length;
    summary.outcomes = await Promise.all(
      files.map(async (file) => {
        let outcome: UploadOutcome;
        try {
          outcome = await this.limiter.run(() => this.uploadOne(batchId, file, signal, callbacks));
        } finally {
          this.pending--;
        }
        if (outcome.ok) {
          if (outcome.result.status === 'failed') summary.rejected++;
          else summary.accepted++;
        } else if (outcome.cancelled) summary.cancelled++;
        else summary.failed++;
        callbacks.onResult?.(outcome);
        return outcome;
      }),
    );
    return summary;
  }

  /** Aborts all uploads in flight or waiting; later upload() calls work normally. */
  cancel(): number {
    const stopped = this.pending;
    this.controller.abort(new AppError('CANCELLED', 'upload cancelled'));
    this.controller = new AbortController();
    return stopped;
  }

  private uploadOne(batchId: string, file: FileRef, signal: AbortSignal, callbacks: UploadCallbacks): Promise<UploadOutcome> {
    const cancelled = (): UploadOutcome => ({ key: file.key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' });
    const failed = (err: unknown): UploadOutcome => {
      const info = errorInfo(err);
      return { key: file.key, ok: false, cancelled: false, error: info.message, code: info.code };
    };
    // One key for this file's request, kept on every retry of it (and given again by the renderer for a Retry after no answer).
    const idempotencyKey = file.idempotencyKey ?? newIdempotencyKey();
    const attempt = async (n: number): Promise<AttemptResult<UploadOutcome, unknown>> => {
      if (signal.aborted) return { done: cancelled() };
      try {
        const response = await this.client().uploadFile(file.path, batchId, {
          signal,
          idempotencyKey,
          timeouts: this.timeouts,
          ...(callbacks.outputOptions ? { outputOptions: callbacks.outputOptions } : {}),
          ...(file.relativePath ? { fileName: file.relativePath } : {}),
          onProgress: (loaded, total) => callbacks.onProgress?.({ key: file.key, loaded, total, attempt: n }),
        });
        const result = response.images[0];
        if (!result) {
          return { done: { key: file.key, ok: false, cancelled: false, error: 'the backend accepted the request but reported no file', code: 'EMPTY_RESPONSE' } };
        }
        return { done: { key: file.key, ok: true, batchId: response.batchId, result: { ...result, filename: result.filename || file.relativePath || path.basename(file.path) } } };
      } catch (err) {
        if (signal.aborted) return { done: cancelled() };
        return err instanceof AppError && isTransient(err) ? { retry: err } : { done: failed(err) };
      }
    };
    return withRetries({
      policy: this.retry,
      attempt,
      wait: (ms) => sleep(ms, signal),
      exhausted: failed,
      cancelled,
    });
  }
}
