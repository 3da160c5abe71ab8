/**
 * A fixed pool of WORKER_THREADS worker threads (piscina) running the resize.
 * It counts what is busy and waiting so both appear in the statistics and
 * the metrics, and gives every image a processing time limit.
 *
 * The limit is enforced twice, because neither alone is enough. libvips'
 * own timeout (sharp's `timeout`) really stops the decode and frees the
 * CPU and memory, but only where libvips reports progress, and in whole
 * seconds. The pool's abort (piscina terminates the worker running the
 * task and starts a fresh one) always answers the caller, a moment later.
 * Either way the caller gets a TIMEOUT result, never an exception.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { OutputOptions } from '../contract/output-options.js';
import { DEFAULT_TIME_LIMIT, maxEncodePasses, outputPixelsEstimate, processingTimeLimitMs, type ResizeRules, type TimeLimitSettings } from '../imaging/index.js';
import { Semaphore } from '../util/semaphore.js';
import { ownedArrayBuffer, type ResizeTask, type ResizeTaskResult } from './resize-task.js';

export interface ResizePoolOptions {
  /** How the per-image limit grows with the decoded size; null: no limit. */
  timeLimit?: TimeLimitSettings | null;
  /** How long after the limit the pool stops a worker libvips did not stop itself. */
  abortGraceMs?: number;
}

export interface ResizeRun {
  /** The batch's output options; absent: the rules' box, JPEG, strip. */
  options?: OutputOptions;
  /** Memory the decode needs (readHeader's decodeBytes): sets the time limit. Absent: the largest input the rules admit. */
  decodeBytes?: number;
  /** An explicit time limit, overriding the one computed from decodeBytes. */
  timeLimitMs?: number;
  /** The caller's own cancel: an aborted run ends with code ABORTED. */
  signal?: AbortSignal;
  /**
   * Called when the pool stopped the thread that was working on this image
   * (TIMEOUT, ABORTED). Stopping a thread stops its JavaScript, not libvips:
   * an interlaced PNG's decode went on for 6–9 s after, holding its memory.
   * `exited` resolves once that thread is really gone, so a memory budget
   * can be held until then.
   */
  onAbandoned?: (exited: Promise<void>) => void;
}

/** Longest a stopped thread's memory is waited for; past it, it is counted free. */
const ABANDONED_WAIT_MS = 60_000;

function exitOf(worker: Worker): Promise<void> {
  // threadId is -1 once the thread has exited.
  if (worker.threadId === -1) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/** The worst-case decode the rules admit: maxPixels of 16-bit RGBA. */
function largestDecode(rules: ResizeRules): number {
  return rules.maxPixels * 4 * 2;
}

export class ResizePool {
  private readonly piscina: Piscina;
  // piscina starts a task's clock only when a thread takes it; the pool
  // hands it at most one task per thread, so a limit never counts queueing.
  private readonly slots: Semaphore;
  private readonly timeLimit: TimeLimitSettings | null;
  private readonly abortGraceMs: number;
  private running = 0;
  private queued = 0;

  constructor(readonly size: number, options: ResizePoolOptions = {}) {
    this.piscina = new Piscina({
      filename: new URL('./resize-worker.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
    });
    this.slots = new Semaphore(size);
    this.timeLimit = options.timeLimit === undefined ? DEFAULT_TIME_LIMIT : options.timeLimit;
    this.abortGraceMs = options.abortGraceMs ?? 1000;
  }

  /** Threads working right now. */
  get busy(): number {
    return Math.min(this.running, this.size);
  }

  /** Tasks waiting for a free thread. */
  get waiting(): number {
    return this.queued + this.piscina.queueSize;
  }

  /** The time limit a run gets, milliseconds (undefined: none). */
  limitFor(rules: ResizeRules, run: ResizeRun = {}): number | undefined {
    if (run.timeLimitMs !== undefined) return run.timeLimitMs;
    if (!this.timeLimit) return undefined;
    const output = run.options
      ? { pixels: outputPixelsEstimate(run.options, rules.maxPixels) * maxEncodePasses(run.options), format: run.options.format }
      : { pixels: rules.maxWidth * rules.maxHeight, format: 'jpeg' as const };
    return processingTimeLimitMs(run.decodeBytes ?? largestDecode(rules), this.timeLimit, output);
  }

  /**
   * Resizes `bytes` in a worker. The buffer is transferred (the caller must
   * not use it afterwards) unless it shares memory with other data, in which
   * case it is copied once. Resolves with a failed result (TIMEOUT, ABORTED,
   * the image's own reason) rather than rejecting; rejects only when the
   * worker thread itself died.
   */
  async resize(bytes: Uint8Array, rules: ResizeRules, run: ResizeRun = {}): Promise<ResizeTaskResult> {
    const buffer = ownedArrayBuffer(bytes);
    this.queued++;
    const release = await this.slots.acquire();
    this.queued--;
    this.running++;
    try {
      return await this.runTask(buffer, rules, run);
    } finally {
      this.running--;
      release();
    }
  }

  private async runTask(buffer: ArrayBuffer, rules: ResizeRules, run: ResizeRun): Promise<ResizeTaskResult> {
    const started = performance.now();
    if (run.signal?.aborted) return { ok: false, code: 'ABORTED', error: 'the resize was cancelled', workMs: 0 };
    const limitMs = this.limitFor(rules, run);
    const timeoutSeconds = limitMs === undefined ? 0 : Math.max(1, Math.ceil(limitMs / 1000));
    const task: ResizeTask = { bytes: buffer, rules, timeoutSeconds };
    if (run.options) task.options = run.options;
    const stop = new AbortController();
    const timer = limitMs === undefined ? undefined : setTimeout(() => stop.abort('TIMEOUT'), limitMs + this.abortGraceMs);
    const onCancel = () => stop.abort('ABORTED');
    run.signal?.addEventListener('abort', onCancel, { once: true });
    const threads = this.piscina.threads;
    try {
      return (await this.piscina.run(task, { transferList: [buffer], signal: stop.signal })) as ResizeTaskResult;
    } catch (err) {
      const workMs = performance.now() - started;
      if (stop.signal.aborted) run.onAbandoned?.(this.stoppedThreadsExit(threads));
      if (stop.signal.reason === 'TIMEOUT') {
        return { ok: false, code: 'TIMEOUT', error: `processing took longer than the limit of ${((limitMs ?? 0) / 1000).toFixed(1)} s; its worker thread was stopped`, workMs };
      }
      if (stop.signal.reason === 'ABORTED') return { ok: false, code: 'ABORTED', error: 'the resize was cancelled', workMs };
      // A worker that died (out of memory, a native crash): the caller's crash accounting decides.
      throw err;
    } finally {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onCancel);
    }
  }

  /**
   * piscina drops a stopped thread from its list at once (and starts a fresh
   * one): the threads that were there before the run and are gone now include
   * it. Waiting for all of them can only wait longer, never less.
   */
  private stoppedThreadsExit(before: readonly Worker[]): Promise<void> {
    const now = new Set(this.piscina.threads);
    const exits = Promise.all(before.filter((w) => !now.has(w)).map(exitOf)).then(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ABANDONED_WAIT_MS);
      timer.unref();
    });
    return Promise.race([exits, cap]).finally(() => clearTimeout(timer));
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
