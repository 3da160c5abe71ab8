/**
 * Uploads files to the backend, one multipart request per file so each has
 * its own progress and its own outcome. At most `concurrency` requests run at
 * once; network failures (and 502/503/504/429) are retried with exponential
 * backoff and jitter; `cancel()` aborts everything in flight and everything
 * still queued through one AbortController.
 */
import path from 'node:path';
import type { FileRef, UploadOutcome, UploadProgress, UploadSummary } from '../../shared/models.js';
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
}

export interface UploadCallbacks {
  onProgress?: (progress: UploadProgress) => void;
  onResult?: (outcome: UploadOutcome) => void;
}

export class Uploader {
  private readonly options: Required<Omit<UploaderOptions, 'client' | 'concurrency'>> & Pick<UploaderOptions, 'client'>;
  private readonly limiter: Limiter;
  private controller = new AbortController();
  /** Files queued or in flight, so cancel() can report how many it stopped. */
  private pending = 0;

  constructor(options: UploaderOptions) {
    this.options = {
      client: options.client,
      retries: options.retries ?? 4,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 8000,
    };
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

  private async uploadOne(batchId: string, file: FileRef, signal: AbortSignal, callbacks: UploadCallbacks): Promise<UploadOutcome> {
    const cancelled = (): UploadOutcome => ({ key: file.key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' });
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return cancelled();
      try {
        const response = await this.options.client().uploadFile(file.path, batchId, {
          signal,
          onProgress: (loaded, total) => callbacks.onProgress?.({ key: file.key, loaded, total, attempt }),
        });
        const result = response.images[0];
        if (!result) {
          return { key: file.key, ok: false, cancelled: false, error: 'the backend accepted the request but reported no file', code: 'EMPTY_RESPONSE' };
        }
        return { key: file.key, ok: true, batchId: response.batchId, result: { ...result, filename: result.filename || path.basename(file.path) } };
      } catch (err) {
        if (signal.aborted) return cancelled();
        const retryable = err instanceof AppError && isTransient(err);
        if (!retryable || attempt > this.options.retries) {
          const info = errorInfo(err);
          return { key: file.key, ok: false, cancelled: false, error: info.message, code: info.code };
        }
        try {
          await sleep(this.backoff(attempt), signal);
        } catch {
          return cancelled();
        }
      }
    }
  }

  /** Exponential backoff with "equal jitter": never below half the step, so retries stay spaced out. */
  private backoff(attempt: number): number {
    const step = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    return step / 2 + Math.random() * (step / 2);
  }
}
