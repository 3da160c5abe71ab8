/**
 * JavaScript handlers: a worker thread of this process, one per context
 * (see handler-host.ts).
 *
 * Why a worker and not a plain call with a timeout race: a race only stops
 * waiting, it cannot stop a handler spinning in `while (true)`, which would
 * block the event loop and with it the whole runtime. A worker can be
 * terminated mid-loop; that loses its context's env, and the runtime says so.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { FunctionTarget } from './function-source.js';
import type { HandlerOutput } from './handler-output.js';
import type { HostChannel, HostDriver, WireReply } from './handler-host.js';
import { ReplyChannel } from './reply-channel.js';
import type { WorkerStrayError } from './js-worker.js';

const WORKER_URL = new URL('./js-worker.js', import.meta.url);

class HandlerThread implements HostChannel {
  private readonly replies = new ReplyChannel<WireReply>('handler thread is not running');
  readonly ready: Promise<Record<string, unknown>>;
  private readonly worker: Worker;

  constructor(logger: Logger, output: HandlerOutput) {
    this.worker = new Worker(WORKER_URL, { stdout: true, stderr: true });
    const worker = this.worker;
    let resolveReady!: (v: Record<string, unknown>) => void;
    let rejectReady!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.ready.catch(() => undefined);

    worker.on('message', (msg: WireReply | WorkerStrayError | { ready: true }) => {
      if ('ready' in msg) resolveReady({ thread: worker.threadId });
      else if ('stray' in msg) {
        // `err` is the other thread's own description (no Error object crosses the thread).
        logger.warn({ source: 'handler', thread: worker.threadId, err: msg.error, stack: msg.stack }, `${msg.stray} in handler code`);
      } else this.replies.deliver(msg);
    });
    for (const stream of [worker.stdout, worker.stderr]) stream.on('data', (chunk: Buffer) => output.write(chunk));
    const gone = (why: string) => {
      const err = this.replies.close(why);
      if (err) rejectReady(err);
    };
    worker.on('error', (err) => gone(`handler thread failed: ${err.message}`));
    worker.on('exit', (code) => gone(`handler thread exited (code ${code})`));
  }

  get alive(): boolean {
    return this.replies.open;
  }

  request(body: Record<string, unknown>, timeoutMs: number): Promise<WireReply> {
    return this.replies.request((id) => this.worker.postMessage({ ...body, id }), timeoutMs);
  }

  async kill(): Promise<void> {
    if (!this.replies.open) return;
    await this.worker.terminate();
  }
}

export function jsDriver(): HostDriver {
  let loads = 0;
  return {
    language: 'javascript',
    label: 'handler thread',
    program: 'the handler thread',
    stopVerb: 'terminated',
    start: (output, logger) => new HandlerThread(logger, output),
    // ES modules are cached by URL: a new version string is a new module.
    loadRequest: (target: FunctionTarget) => ({
      file: target.file,
      functionName: target.functionName,
      version: `${target.file}@${target.name}#${++loads}-${Date.now()}`,
    }),
  };
}
