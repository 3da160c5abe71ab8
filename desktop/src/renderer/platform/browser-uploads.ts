/**
 * Uploads from the page: one XHR per file (XHR reports upload progress,
 * fetch does not), under the shared client policy: at most the setting's
 * concurrency at once, network failures and transient statuses retried with
 * backoff under one Idempotency-Key per file, each attempt within the
 * upload time limits. Cancel aborts what runs and skips what waits.
 */
import {
  IDEMPOTENCY_HEADER,
  createLimiter,
  failureFromResponse,
  isTransientStatus,
  KEY_IN_PROGRESS,
  newIdempotencyKey,
  noAnswerFailure,
  offlineFailure,
  requestTimeoutFailure,
  withRetries,
  type AttemptResult,
  type UploadTimeouts,
} from '../../shared/api-policy/index.js';
import type { ApiErrorBody, UploadResponse } from '@imgfleet/backend/contract';
import type { BrowserSettings } from './browser-settings.js';
import { errorMessage, type LocalFile, type Platform, type UploadItem, type UploadOutcome, type UploadSummary } from './platform.js';

type UploadCallbacks = Parameters<Platform['upload']>[2];
type Attempt = AttemptResult<UploadOutcome, 'offline'>;

const cancelledOutcome = (key: string): UploadOutcome => ({ key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' });

export class BrowserUploads {
  /** Requests on the wire, so Cancel can abort them. */
  private readonly running = new Set<XMLHttpRequest>();
  /** Bumped by Cancel: uploads started under an older generation stop (queued ones are never sent). */
  private generation = 0;

  constructor(
    private readonly origin: string,
    private readonly settings: BrowserSettings,
    private readonly fileOf: (local: LocalFile) => File,
  ) {}

  async upload(batchId: string, list: readonly UploadItem[], on: UploadCallbacks): Promise<UploadSummary> {
    const generation = this.generation;
    const summary: UploadSummary = { batchId, accepted: 0, rejected: 0, failed: 0, cancelled: 0, outcomes: [] };
    const limiter = createLimiter(this.settings.stored().uploadConcurrency);
    await Promise.all(
      list.map((local) =>
        limiter.run(async () => {
          const outcome = generation === this.generation ? await this.uploadOne(batchId, local, generation, on) : cancelledOutcome(local.key);
          if (outcome.ok) summary[outcome.result.status === 'failed' ? 'rejected' : 'accepted']++;
          else summary[outcome.cancelled ? 'cancelled' : 'failed']++;
          summary.outcomes.push(outcome);
          on.result(outcome);
        }),
      ),
    );
    return summary;
  }

  /** Aborts every upload; returns how many were on the wire. */
  cancel(): number {
    const running = this.running.size;
    this.generation++;
    for (const xhr of [...this.running]) xhr.abort();
    return running;
  }

  private uploadOne(batchId: string, local: UploadItem, generation: number, on: UploadCallbacks): Promise<UploadOutcome> {
    let file: File;
    try {
      file = this.fileOf(local);
    } catch (err) {
      return Promise.resolve({ key: local.key, ok: false, cancelled: false, error: errorMessage(err), code: 'FORBIDDEN_PATH' });
    }
    // One key for this file's request, kept on every retry of it (and given again for a Retry after no answer).
    const request = { batchId, local, file, key: local.idempotencyKey ?? newIdempotencyKey(), timeouts: this.settings.uploadTimeouts() };
    return withRetries({
      attempt: (n) => (generation === this.generation ? this.send(request, n, on) : Promise.resolve({ done: cancelledOutcome(local.key) })),
      wait: (ms) => new Promise<boolean>((resolve) => setTimeout(() => resolve(generation === this.generation), ms)),
      exhausted: () => {
        const offline = offlineFailure(this.origin);
        return { key: local.key, ok: false, cancelled: false, error: offline.message, code: offline.code };
      },
      cancelled: () => cancelledOutcome(local.key),
    });
  }

  /** One attempt of one file's request. */
  private send(
    request: { batchId: string; local: LocalFile; file: File; key: string; timeouts: UploadTimeouts },
    attempt: number,
    on: UploadCallbacks,
  ): Promise<Attempt> {
    const { local, file, timeouts } = request;
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      let limit: { code: string; message: string } | null = null;
      let answerClock: ReturnType<typeof setTimeout> | undefined;
      this.running.add(xhr);
      const done = (value: Attempt): void => {
        clearTimeout(answerClock);
        this.running.delete(xhr);
        resolve(value);
      };
      const failed = (reason: { code: string; message: string }): Attempt => ({ done: { key: local.key, ok: false, cancelled: false, error: reason.message, code: reason.code } });
      xhr.open('POST', `${this.origin}/api/v1/images?batchId=${encodeURIComponent(request.batchId)}`);
      for (const [name, value] of Object.entries(this.settings.authHeaders())) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader(IDEMPOTENCY_HEADER, request.key);
      xhr.responseType = 'json';
      xhr.timeout = timeouts.requestMs;
      xhr.upload.onprogress = (e) => on.progress({ key: local.key, loaded: e.loaded, total: e.lengthComputable ? e.total : file.size, attempt });
      // The whole body is out: from now on only the answer is awaited, and not for ever.
      xhr.upload.onload = () => {
        answerClock = setTimeout(() => {
          limit = noAnswerFailure(timeouts);
          xhr.abort();
        }, timeouts.responseAfterBodyMs);
      };
      xhr.ontimeout = () => done(failed(requestTimeoutFailure(timeouts)));
      xhr.onabort = () => done(limit ? failed(limit) : { done: cancelledOutcome(local.key) });
      xhr.onerror = () => done({ retry: 'offline' });
      xhr.onload = () => {
        const body = xhr.response as (Partial<UploadResponse> & Partial<ApiErrorBody>) | null;
        if (isTransientStatus(xhr.status) || body?.code === KEY_IN_PROGRESS) return done({ retry: 'offline' });
        const result = body?.images?.[0];
        if (xhr.status >= 200 && xhr.status < 300 && result) {
          return done({ done: { key: local.key, ok: true, batchId: body?.batchId ?? request.batchId, result } });
        }
        done(failed(failureFromResponse(xhr.status, '', body)));
      };
      const form = new FormData();
      // Before the file: the server checks the options before it stores anything.
      form.append('options', JSON.stringify(this.settings.outputOptions()));
      // A folder drop's relative path as the file name: the server's ZIP keeps the folders.
      form.append('images', file, local.relativePath ?? file.name);
      xhr.send(form);
    });
  }
}
