/**
 * A fixed pool of WORKER_THREADS worker threads (piscina) running the resize.
 * It counts what is busy and waiting so both appear in the statistics and
 * the metrics.
 */
import { Piscina } from 'piscina';
import type { ResizeRules } from '../imaging/index.js';
import { performance } from 'node:perf_hooks';
import { ownedArrayBuffer, type ResizeTaskResult } from './resize-task.js';

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

export class ResizePool {
  private readonly piscina: Piscina;
  private running = 0;

  constructor(readonly size: number) {
    this.piscina = new Piscina({
      filename: new URL('./resize-worker.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
    });
  }

  /** Threads working right now. */
  get busy(): number {
    return Math.min(this.running, this.size);
  }

  /** Tasks waiting for a free thread. */
  get waiting(): number {
    return this.piscina.queueSize;
  }

  /**
   * Resizes `bytes` in a worker. The buffer is transferred (the caller must
   * not use it afterwards) unless it shares memory with other data, in which
   * case it is copied once.
   */
  async resize(bytes: Uint8Array, rules: ResizeRules, options: { timeoutMs?: number } = {}): Promise<ResizeTaskResult> {
    const buffer = ownedArrayBuffer(bytes);
    const { timeoutMs } = options;
    // Aborting a running task makes piscina terminate its thread and start a
    // fresh one: the only way to stop libvips in the middle of a decode.
    const signal = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
    this.running++;
    const started = performance.now();
    try {
      return (await this.piscina.run({ bytes: buffer, rules }, { transferList: [buffer], ...(signal ? { signal } : {}) })) as ResizeTaskResult;
    } catch (err) {
      if (signal?.aborted) {
        return {
          ok: false,
          code: 'TIMEOUT',
          error: `processing took longer than the limit of ${formatSeconds(timeoutMs!)} (IMAGE_TIMEOUT_SECONDS)`,
          workMs: performance.now() - started,
        };
      }
      throw err;
    } finally {
      this.running--;
    }
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
