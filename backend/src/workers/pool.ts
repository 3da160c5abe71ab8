/**
 * A fixed pool of WORKER_THREADS worker threads (piscina) running the resize.
 * It counts what is busy and waiting so both appear in the statistics and
 * the metrics, and enforces each image's time limit.
 *
 * The limit is counted in the job's fair share of a core (time-limit.ts):
 * honest work slowed by crowded CPUs is never stopped, stuck work is. When
 * it runs out, the pool's abort (piscina terminates the worker running the
 * task and starts a fresh one) answers the caller at once. libvips' own
 * timeout (sharp's `timeout`, on the clock, in whole seconds) is set far
 * beyond it, as a last resort that really stops a decode the stopped thread
 * left running. Either way the caller gets a TIMEOUT result, never an
 * exception.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { BlobRef, WorkerBlobAccess } from '../blobs/blob-store.js';
import type { OutputOptions } from '../contract/output-options.js';
import type { ResizeRules } from '../imaging/index.js';
import { Semaphore } from '../util/semaphore.js';
import { CpuContention, type ContentionSource } from './cpu-contention.js';
import { ownedArrayBuffer, type ResizeTask, type ResizeTaskResult, type TaskSource } from './resize-task.js';
import { FairShareDeadline } from './time-limit.js';

export interface ResizePoolOptions {
  /** How crowded the CPUs are (default: sampled from /proc/loadavg while the pool runs). */
  contention?: ContentionSource;
}

/** An original the worker thread reads from the blob store itself. */
export interface BlobInput {
  access: WorkerBlobAccess;
  ref: BlobRef;
}

export interface ResizeRun {
  /** The image's output options, resolved (the server's defaults for an earlier row). */
  options: OutputOptions;
  /** Where the worker puts the result itself; absent: it comes back as bytes. */
  sink?: WorkerBlobAccess;
  /** The image's time limit in ms of a fair share of one core (time-limit.ts); absent: none. */
  timeLimitMs?: number;
  /** How the limit is told in a TIMEOUT's reason (e.g. "12 s of a fair share of one core (…)"). */
  limitNote?: string;
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

/**
 * A stopped thread's memory is counted taken until the thread has exited,
 * which libvips' own limit bounds (the decode it left running stops there);
 * this much more is allowed for the exit itself, then it is counted free.
 */
const EXIT_ALLOWANCE_MS = 10_000;
/** Without a limit (no libvips timeout), a stopped thread's memory is counted free after this. */
const UNLIMITED_EXIT_WAIT_MS = 60_000;

/**
 * libvips' own limit, on the clock, so it cannot follow the CPUs' crowding:
 * 16 times the fair-share limit and at least a minute more. No honest job
 * gets less than a sixteenth of a core for long (4 threads and a hog on 2
 * cores give it a third), so this only ever stops what the pool's abort
 * already gave up on, whose decode would otherwise go on in the background.
 */
function libvipsLimitSeconds(limitMs: number): number {
  return Math.ceil(Math.max(16 * limitMs, limitMs + 60_000) / 1000);
}

function exitOf(worker: Worker): Promise<void> {
  // threadId is -1 once the thread has exited.
  if (worker.threadId === -1) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

export class ResizePool {
  private readonly piscina: Piscina;
  // piscina starts a task's clock only when a thread takes it; the pool
  // hands it at most one task per thread, so a limit never counts queueing.
  private readonly slots: Semaphore;
  private readonly contention: ContentionSource;
  private readonly ownContention: CpuContention | undefined;
  private running = 0;
  private queued = 0;

  constructor(
    readonly size: number,
    options: ResizePoolOptions = {},
  ) {
    this.piscina = new Piscina({
      filename: new URL('./resize-worker.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
    });
    this.slots = new Semaphore(size);
    if (options.contention) {
      this.contention = options.contention;
    } else {
      this.ownContention = new CpuContention(undefined, () => this.running);
      this.contention = this.ownContention;
    }
  }

  /** Threads working right now. */
  get busy(): number {
    return Math.min(this.running, this.size);
  }

  /** Tasks waiting for a free thread. */
  get waiting(): number {
    return this.queued + this.piscina.queueSize;
  }

  /** How crowded the CPUs are now (threads per core, at least 1). */
  get crowding(): number {
    return this.contention.current();
  }

  /**
   * Resizes an original in a worker: `bytes` in memory, or a blob the worker
   * reads itself. Bytes are transferred (the caller must not use them
   * afterwards) unless they share memory with other data, in which case
   * they are copied once. Resolves with a failed result (TIMEOUT, ABORTED,
   * the image's own reason) rather than rejecting; rejects only when the
   * worker thread itself died.
   */
  async resize(input: Uint8Array | BlobInput, rules: ResizeRules, run: ResizeRun): Promise<ResizeTaskResult> {
    const source: TaskSource = input instanceof Uint8Array ? { kind: 'bytes', bytes: ownedArrayBuffer(input) } : { kind: 'blob', ...input };
    this.queued++;
    const release = await this.slots.acquire();
    this.queued--;
    this.running++;
    this.ownContention?.start();
    try {
      return await this.runTask(source, rules, run);
    } finally {
      this.running--;
      release();
    }
  }

  private async runTask(source: TaskSource, rules: ResizeRules, run: ResizeRun): Promise<ResizeTaskResult> {
    const started = performance.now();
    if (run.signal?.aborted) return { ok: false, code: 'ABORTED', error: 'the resize was cancelled', workMs: 0 };
    const limitMs = run.timeLimitMs;
    const timeoutSeconds = limitMs === undefined ? 0 : libvipsLimitSeconds(limitMs);
    const task: ResizeTask = { source, rules, options: run.options, timeoutSeconds };
    if (run.sink) task.sink = run.sink;
    const stop = new AbortController();
    const deadline = limitMs === undefined ? undefined : new FairShareDeadline(limitMs, this.contention, () => stop.abort('TIMEOUT')).start();
    const onCancel = () => stop.abort('ABORTED');
    run.signal?.addEventListener('abort', onCancel, { once: true });
    const threads = this.piscina.threads;
    try {
      const transferList = source.kind === 'bytes' ? [source.bytes] : [];
      return (await this.piscina.run(task, { transferList, signal: stop.signal })) as ResizeTaskResult;
    } catch (err) {
      const workMs = performance.now() - started;
      if (stop.signal.aborted)
        run.onAbandoned?.(this.stoppedThreadsExit(threads, timeoutSeconds > 0 ? timeoutSeconds * 1000 + EXIT_ALLOWANCE_MS : UNLIMITED_EXIT_WAIT_MS));
      if (stop.signal.reason === 'TIMEOUT') {
        const limit = run.limitNote ?? `${((limitMs ?? 0) / 1000).toFixed(1)} s of a fair share of one core`;
        const clock = `${(workMs / 1000).toFixed(1)} s on the clock`;
        return {
          ok: false,
          code: 'TIMEOUT',
          error: `processing took longer than its time limit of ${limit} (${clock}); its worker thread was stopped`,
          workMs,
        };
      }
      if (stop.signal.reason === 'ABORTED') return { ok: false, code: 'ABORTED', error: 'the resize was cancelled', workMs };
      // A worker that died (out of memory, a native crash): the caller's crash accounting decides.
      throw err;
    } finally {
      deadline?.stop();
      run.signal?.removeEventListener('abort', onCancel);
    }
  }

  /**
   * piscina drops a stopped thread from its list at once (and starts a fresh
   * one): the threads that were there before the run and are gone now include
   * it. Waiting for all of them can only wait longer, never less; at most `capMs`.
   */
  private stoppedThreadsExit(before: readonly Worker[], capMs: number): Promise<void> {
    const now = new Set(this.piscina.threads);
    const exits = Promise.all(before.filter((w) => !now.has(w)).map(exitOf)).then(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, capMs);
      timer.unref();
    });
    return Promise.race([exits, cap]).finally(() => clearTimeout(timer));
  }

  async close(): Promise<void> {
    this.ownContention?.stop();
    await this.piscina.destroy();
  }
}
