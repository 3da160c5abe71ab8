/**
 * A fixed pool of WORKER_THREADS worker threads (piscina) running the resize.
 * It counts what is busy and waiting so both appear in the statistics and
 * the metrics.
 */
import { Piscina } from 'piscina';
import type { ResizeRules } from '../imaging/index.js';
import { ownedArrayBuffer, type ResizeTaskResult } from './resize-task.js';

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
  async resize(bytes: Uint8Array, rules: ResizeRules): Promise<ResizeTaskResult> {
    const buffer = ownedArrayBuffer(bytes);
    this.running++;
    try {
      return (await this.piscina.run({ bytes: buffer, rules }, { transferList: [buffer] })) as ResizeTaskResult;
    } finally {
      this.running--;
    }
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
