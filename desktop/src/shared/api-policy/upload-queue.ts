/**
 * The uploads of both hosts, once: one multipart request per file (each has
 * its own progress and outcome), at most `concurrency` at once, a request
 * that may not have reached the backend (unreachable, 429/502/503/504)
 * retried with backoff under one Idempotency-Key per file, each attempt
 * within the upload time limits, and Cancel stopping what runs and what
 * waits. The hosts only move bytes (`UploadWire`: axios and a file stream
 * in the main process, XHR in the page) and report what the wire did; what
 * that means (retry, refusal, success, which words) is decided here.
 */
import { DEFAULT_RETRY, isTransientFailure, withRetries, type AttemptResult, type RetryPolicy } from './backoff.js';
import { Cancellation, waitUnlessCancelled, type Timers } from './cancellation.js';
import { createLimiter, type Limiter } from './concurrency.js';
import { CANCELLED, failureFromResponse, offlineFailure, type Failure } from './errors.js';
import { newIdempotencyKey } from './idempotency.js';
import { DEFAULT_UPLOAD_TIMEOUTS, noAnswerFailure, requestTimeoutFailure, type UploadTimeouts } from './upload-limits.js';

/** A file to upload: the caller's key for it, and the Idempotency-Key of an earlier unanswered request of it. */
export interface QueuedFile {
  key: string;
  idempotencyKey?: string | undefined;
}

/** What the wire did with one attempt. */
export type WireResult =
  | { kind: 'answer'; status: number; body: unknown }
  /** No answer at all (connection refused, reset, DNS): `reason` is the host's word for it. */
  | { kind: 'unreachable'; reason?: string }
  /** The file could not be read on this side: not retried. */
  | { kind: 'failed'; failure: Failure }
  /** Ended because `stop` fired (the queue knows why). */
  | { kind: 'stopped' };

export interface WireRequest<F> {
  batchId: string;
  file: F;
  idempotencyKey: string;
  /** Fires when the attempt must end (Cancel, or a time limit): the host aborts the request. */
  stop: Cancellation;
  /** Body bytes sent; `total` undefined when the host cannot tell. The answer clock starts at the last byte. */
  progress: (loaded: number, total: number | undefined) => void;
}

export interface UploadWire<F> {
  /** The backend's address, for "the backend at … is unreachable". */
  baseUrl(): string;
  send(request: WireRequest<F>): Promise<WireResult>;
}

export type FileOutcome<R> =
  { key: string; ok: true; batchId: string; result: R } | { key: string; ok: false; cancelled: boolean; error: string; code: string };

export interface UploadTally<R> {
  batchId: string;
  /** Accepted by the backend (now pending). */
  accepted: number;
  /** Refused by the backend with a per-file reason. */
  rejected: number;
  /** Never reached the backend, or no answer to it. */
  failed: number;
  cancelled: number;
  /** Every file's outcome, in the order the files were given. */
  outcomes: FileOutcome<R>[];
}

export interface FileProgress {
  key: string;
  loaded: number;
  total: number;
  /** 1 for the first try, 2+ for the retries. */
  attempt: number;
}

export interface UploadCallbacks<R> {
  onProgress?: (progress: FileProgress) => void;
  onResult?: (outcome: FileOutcome<R>) => void;
}

export interface UploadQueueOptions<R extends { status: string }> {
  concurrency: number;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<UploadTimeouts> | (() => Partial<UploadTimeouts>);
  timers: Timers;
  /** The one file's result in a 2xx answer (the backend's UploadResponse), or null when it reports none. */
  readAnswer(body: unknown): { batchId: string; result: R } | null;
}

export const cancelledOutcome = (key: string): FileOutcome<never> => ({ key, ok: false, cancelled: true, error: CANCELLED.message, code: CANCELLED.code });

const failedOutcome = (key: string, failure: Failure): FileOutcome<never> => ({ key, ok: false, cancelled: false, error: failure.message, code: failure.code });

export class UploadQueue<F extends QueuedFile, R extends { status: string }> {
  private readonly limiter: Limiter;
  private readonly retry: RetryPolicy;
  /** Replaced by each Cancel: uploads started under an older one stop, queued ones are never sent. */
  private run = new Cancellation();
  /** Files queued or on the wire, so Cancel can say how many it stopped. */
  private pending = 0;

  constructor(
    private readonly wire: UploadWire<F>,
    private readonly options: UploadQueueOptions<R>,
  ) {
    this.limiter = createLimiter(options.concurrency);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  setConcurrency(concurrency: number): void {
    this.limiter.setConcurrency(concurrency);
  }

  get inFlight(): number {
    return this.pending;
  }

  /** Uploads every file into `batchId`; resolves when each has an outcome. */
  async upload(batchId: string, files: readonly F[], callbacks: UploadCallbacks<R> = {}): Promise<UploadTally<R>> {
    const run = this.run;
    const tally: UploadTally<R> = { batchId, accepted: 0, rejected: 0, failed: 0, cancelled: 0, outcomes: [] };
    this.pending += files.length;
    tally.outcomes = await Promise.all(
      files.map(async (file) => {
        let outcome: FileOutcome<R>;
        try {
          outcome = await this.limiter.run(() => (run.cancelled ? Promise.resolve(cancelledOutcome(file.key)) : this.uploadOne(batchId, file, run, callbacks)));
        } finally {
          this.pending--;
        }
        if (outcome.ok) tally[outcome.result.status === 'failed' ? 'rejected' : 'accepted']++;
        else tally[outcome.cancelled ? 'cancelled' : 'failed']++;
        callbacks.onResult?.(outcome);
        return outcome;
      }),
    );
    return tally;
  }

  /** Stops every upload on the wire or waiting; returns how many that was. Later uploads work as before. */
  cancel(): number {
    const stopped = this.pending;
    this.run.cancel(CANCELLED);
    this.run = new Cancellation();
    return stopped;
  }

  private uploadOne(batchId: string, file: F, run: Cancellation, callbacks: UploadCallbacks<R>): Promise<FileOutcome<R>> {
    // One key for this file's request, kept on every retry of it (and given again by the caller for a Retry after no answer).
    const idempotencyKey = file.idempotencyKey ?? newIdempotencyKey();
    return withRetries<FileOutcome<R>, Failure>({
      policy: this.retry,
      attempt: (n) => this.attempt({ batchId, file, idempotencyKey }, n, run, callbacks),
      wait: (ms) => waitUnlessCancelled(ms, run, this.options.timers),
      exhausted: (last) => failedOutcome(file.key, last),
      cancelled: () => cancelledOutcome(file.key),
    });
  }

  /** One attempt of one file's request, within the time limits. */
  private async attempt(
    request: { batchId: string; file: F; idempotencyKey: string },
    n: number,
    run: Cancellation,
    callbacks: UploadCallbacks<R>,
  ): Promise<AttemptResult<FileOutcome<R>, Failure>> {
    const { key } = request.file;
    if (run.cancelled) return { done: cancelledOutcome(key) };
    const stop = new Cancellation();
    const stopWithRun = run.onCancel((reason) => stop.cancel(reason));
    const clocks = this.startClocks(stop);
    try {
      const result = await this.wire.send({
        ...request,
        stop,
        progress: (loaded, total) => {
          clocks.progress(loaded, total);
          callbacks.onProgress?.({ key, loaded, total: total ?? loaded, attempt: n });
        },
      });
      // Whatever the wire made of it, a stopped attempt ended for the stop's reason.
      if (stop.reason) return { done: stop.reason.code === CANCELLED.code ? cancelledOutcome(key) : failedOutcome(key, stop.reason) };
      return this.judge(key, result);
    } finally {
      clocks.dispose();
      stopWithRun();
    }
  }

  private judge(key: string, result: WireResult): AttemptResult<FileOutcome<R>, Failure> {
    switch (result.kind) {
      case 'unreachable':
        return { retry: offlineFailure(this.wire.baseUrl(), result.reason) };
      case 'failed':
        return { done: failedOutcome(key, result.failure) };
      case 'stopped':
        return { done: cancelledOutcome(key) };
      case 'answer': {
        const { status, body } = result;
        if (status < 200 || status >= 300) {
          // Transient statuses, and a 409 saying this key's first request is still being stored: sent again after a pause.
          const failure = failureFromResponse(status, '', body);
          return isTransientFailure(failure) ? { retry: failure } : { done: failedOutcome(key, failure) };
        }
        const answer = this.options.readAnswer(body);
        if (!answer) return { done: failedOutcome(key, { code: 'EMPTY_RESPONSE', message: 'the backend accepted the request but reported no file' }) };
        return { done: { key, ok: true, batchId: answer.batchId, result: answer.result } };
      }
    }
  }

  /** The whole request's clock, and the answer's, started when the last byte of the body has gone out. */
  private startClocks(stop: Cancellation): { progress(loaded: number, total: number | undefined): void; dispose(): void } {
    const given = typeof this.options.timeouts === 'function' ? this.options.timeouts() : this.options.timeouts;
    const timeouts: UploadTimeouts = { ...DEFAULT_UPLOAD_TIMEOUTS, ...given };
    const { timers } = this.options;
    const requestClock = timers.set(() => stop.cancel(requestTimeoutFailure(timeouts)), timeouts.requestMs);
    let answerClock: unknown;
    return {
      progress(loaded, total) {
        if (answerClock === undefined && total !== undefined && total > 0 && loaded >= total) {
          answerClock = timers.set(() => stop.cancel(noAnswerFailure(timeouts)), timeouts.responseAfterBodyMs);
        }
      },
      dispose() {
        timers.clear(requestClock);
        if (answerClock !== undefined) timers.clear(answerClock);
      },
    };
  }
}
