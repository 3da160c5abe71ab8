/**
 * Runs JavaScript handlers in a worker thread of this process.
 *
 * Why a worker and not a plain call with a timeout race: a race only stops
 * waiting, it cannot stop a handler spinning in `while (true)`, which would
 * block the event loop and with it the whole runtime. A worker can be
 * terminated mid-loop. The price is the same as for Python: terminating the
 * worker loses every context's env, and the runtime reports that.
 */
import { Worker } from 'node:worker_threads';
import readline from 'node:readline';
import type { Logger } from 'pino';
import { FunctionError, errorMessage } from './errors.js';
import type { ErrorKind } from './errors.js';
import type { FunctionTarget } from './function-source.js';
import { Serial } from './invoker.js';
import { ReplyChannel, TimedOut } from './reply-channel.js';
import type { CallOutcome, CallRequest, Invoker } from './invoker.js';
import type { WorkerReply, WorkerStrayError } from './js-worker.js';

const WORKER_URL = new URL('./js-worker.js', import.meta.url);

export interface JsInvokerOptions {
  timeoutMs: number;
  logger: Logger;
}

class HandlerThread {
  private readonly replies = new ReplyChannel<WorkerReply>('handler thread is not running');
  readonly ready: Promise<void>;
  private readonly worker: Worker;

  constructor(logger: Logger) {
    this.worker = new Worker(WORKER_URL, { stdout: true, stderr: true });
    const worker = this.worker;
    let resolveReady!: () => void;
    let rejectReady!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.ready.catch(() => undefined);

    worker.on('message', (msg: WorkerReply | WorkerStrayError | { ready: true }) => {
      if ('ready' in msg) {
        resolveReady();
        return;
      }
      if ('stray' in msg) {
        logger.warn({ source: 'handler', thread: worker.threadId, err: msg.error, stack: msg.stack }, `${msg.stray} in handler code`);
        return;
      }
      this.replies.deliver(msg);
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        logger.info({ source: 'handler', thread: worker.threadId }, line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      });
    }
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

  request(body: Record<string, unknown>, timeoutMs: number): Promise<WorkerReply> {
    return this.replies.request((id) => this.worker.postMessage({ ...body, id }), timeoutMs);
  }

  async terminate(): Promise<void> {
    if (!this.replies.open) return;
    await this.worker.terminate();
  }
}

export class JsInvoker implements Invoker {
  readonly language = 'javascript' as const;
  private readonly serial = new Serial();
  private thread: HandlerThread | undefined;
  private target: FunctionTarget | undefined;
  private version = '';
  private loads = 0;
  private closed = false;

  constructor(private readonly options: JsInvokerOptions) {}

  private async startThread(): Promise<HandlerThread> {
    if (this.closed) throw new FunctionError('load', 'runtime is stopping');
    const thread = new HandlerThread(this.options.logger);
    this.thread = thread;
    try {
      await thread.ready;
      // close() may have run while we waited; it could not see this thread yet.
      if (this.closed) throw new Error('runtime is stopping');
    } catch (err) {
      await thread.terminate();
      this.thread = undefined;
      throw new FunctionError('load', `cannot start the handler thread: ${errorMessage(err)}`);
    }
    return thread;
  }

  private async sendLoad(thread: HandlerThread, target: FunctionTarget, version: string): Promise<void> {
    let reply: WorkerReply;
    try {
      reply = await thread.request(
        { op: 'load', file: target.file, functionName: target.functionName, version },
        this.options.timeoutMs,
      );
    } catch (err) {
      await this.stopThread();
      const why = err instanceof TimedOut ? `took longer than ${this.options.timeoutMs / 1000} s` : errorMessage(err);
      throw new FunctionError('load', `loading ${target.name}: ${why}`);
    }
    if (!reply.ok) throw new FunctionError('load', reply.error, reply.detail);
  }

  private async stopThread(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
  }

  private async ready(): Promise<HandlerThread> {
    if (this.thread?.alive) return this.thread;
    if (!this.target) throw new FunctionError('load', 'no function loaded');
    const thread = await this.startThread();
    await this.sendLoad(thread, this.target, this.version);
    return thread;
  }

  load(target: FunctionTarget): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) throw new FunctionError('load', 'runtime is stopping');
      const thread = this.thread?.alive ? this.thread : await this.startThread();
      const version = `${Date.now()}-${++this.loads}`;
      await this.sendLoad(thread, target, version);
      this.target = target;
      this.version = version;
    });
  }

  call(request: CallRequest): Promise<CallOutcome> {
    return this.serial.run(async (): Promise<CallOutcome> => {
      if (this.closed) return { ok: false, kind: 'crash', error: 'runtime is stopping' };
      let thread: HandlerThread;
      try {
        thread = await this.ready();
      } catch (err) {
        return { ok: false, kind: 'load', error: errorMessage(err) };
      }
      try {
        const reply = await thread.request(
          { op: 'call', ctx: request.contextId, input: request.input, context: request.context },
          this.options.timeoutMs,
        );
        if (reply.ok) return { ok: true, output: reply.output ?? null };
        return {
          ok: false,
          kind: reply.kind as ErrorKind,
          error: reply.error,
          ...(reply.detail ? { detail: reply.detail } : {}),
        };
      } catch (err) {
        if (this.closed) return { ok: false, kind: 'crash', error: 'runtime is stopping' };
        const timedOut = err instanceof TimedOut;
        await this.stopThread();
        const error = timedOut
          ? `handler did not return within ${this.options.timeoutMs / 1000} s; its thread was terminated and restarted, context.env of every context was lost`
          : `${errorMessage(err)}; thread restarted, context.env of every context was lost`;
        this.options.logger.error({ input_key: request.context.input_key, kind: timedOut ? 'timeout' : 'crash' }, error);
        try {
          await this.ready();
        } catch (restartErr) {
          this.options.logger.error({ err: restartErr }, 'handler thread could not be restarted; will retry on the next call');
        }
        return { ok: false, kind: timedOut ? 'timeout' : 'crash', error, stateLost: true };
      }
    });
  }

  drop(contextId: string): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed || !this.thread?.alive) return;
      await this.thread.request({ op: 'drop', ctx: contextId }, this.options.timeoutMs).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopThread();
  }
}
