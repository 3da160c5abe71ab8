/**
 * Runs Python handlers in one long-lived `python3` child (backend/runtime/python/bridge.py)
 * speaking JSON lines. One child serves every context, so a hung handler
 * that has to be killed takes every context's env with it; the runtime
 * reports that as lost state rather than pretending the history survived.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import type { Logger } from 'pino';
import { FunctionError, errorMessage } from './errors.js';
import type { ErrorKind } from './errors.js';
import type { FunctionTarget } from './function-source.js';
import { Serial } from './invoker.js';
import { ReplyChannel, TimedOut } from './reply-channel.js';
import type { CallOutcome, CallRequest, Invoker } from './invoker.js';

/** Compiled code lives in backend/runtime/dist/src/; the bridge is not compiled and stays in backend/runtime/python/. */
export const BRIDGE_PATH = fileURLToPath(new URL('../../python/bridge.py', import.meta.url));

export interface PythonInvokerOptions {
  pythonBin: string;
  timeoutMs: number;
  logger: Logger;
  bridgePath?: string;
}

interface Reply {
  id: number;
  ok: boolean;
  output?: string | null;
  kind?: ErrorKind;
  error?: string;
  detail?: string;
}

/** One python3 process and its protocol streams. */
class BridgeProcess {
  private readonly replies = new ReplyChannel<Reply>('python process is not running');
  readonly ready: Promise<{ pid: number; python: string }>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly logger: Logger,
  ) {
    let resolveReady!: (v: { pid: number; python: string }) => void;
    let rejectReady!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.ready.catch(() => undefined);

    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: Reply & { ready?: boolean; pid?: number; python?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        this.logger.warn({ line: line.slice(0, 500) }, 'python bridge wrote a line that is not protocol');
        return;
      }
      if (msg.ready) {
        resolveReady({ pid: msg.pid ?? child.pid ?? 0, python: msg.python ?? '?' });
        return;
      }
      this.replies.deliver(msg);
    });
    // Everything the handler prints arrives here (the bridge points its stdout at stderr).
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      this.logger.info({ source: 'handler', python_pid: child.pid }, line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    });
    child.stdin.on('error', () => undefined); // EPIPE after a crash is reported through 'exit'.
    const gone = (why: string) => {
      const err = this.replies.close(why);
      if (err) rejectReady(err);
    };
    child.on('error', (err) => gone(`python could not run: ${err.message}`));
    child.on('exit', (code, signal) => gone(`python process exited (${signal ?? `code ${code}`})`));
  }

  get alive(): boolean {
    return this.replies.open;
  }

  request(op: string, body: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    return this.replies.request((id) => this.child.stdin.write(`${JSON.stringify({ id, op, ...body })}\n`), timeoutMs);
  }

  /** Kills the process and resolves once it is gone. */
  async kill(graceMs = 0): Promise<void> {
    if (!this.replies.open) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (graceMs > 0) {
      // Closing stdin ends the bridge's read loop unless a handler is stuck.
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}

export class PythonInvoker implements Invoker {
  readonly language = 'python' as const;
  private readonly serial = new Serial();
  private process: BridgeProcess | undefined;
  private target: FunctionTarget | undefined;
  private closed = false;

  constructor(private readonly options: PythonInvokerOptions) {}

  private async spawnBridge(): Promise<BridgeProcess> {
    if (this.closed) throw new FunctionError('load', 'runtime is stopping');
    const child = spawn(this.options.pythonBin, [this.options.bridgePath ?? BRIDGE_PATH], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONIOENCODING: 'utf-8',
        PYTHONUNBUFFERED: '1',
        IMGFLEET_RUNTIME_PID: String(process.pid),
      },
    });
    const bridge = new BridgeProcess(child, this.options.logger);
    this.process = bridge;
    try {
      const info = await withTimeout(bridge.ready, Math.max(this.options.timeoutMs, 10_000));
      this.options.logger.info({ python_pid: info.pid, python: info.python }, 'python bridge started');
      // close() may have run while we waited; it could not see this child yet.
      if (this.closed) throw new Error('runtime is stopping');
    } catch (err) {
      await bridge.kill();
      this.process = undefined;
      throw new FunctionError('load', `cannot start ${this.options.pythonBin}: ${errorMessage(err)}`);
    }
    return bridge;
  }

  private async sendLoad(bridge: BridgeProcess, target: FunctionTarget): Promise<void> {
    let reply: Reply;
    try {
      reply = await bridge.request(
        'load',
        {
          root: target.root,
          file: target.file,
          module: target.module,
          function: target.functionName,
          single_file: target.standalone,
        },
        this.options.timeoutMs,
      );
    } catch (err) {
      if (err instanceof TimedOut) {
        await this.killProcess();
        throw new FunctionError('load', `importing ${target.name} took longer than ${this.options.timeoutMs / 1000} s`);
      }
      await this.killProcess();
      throw new FunctionError('load', `loading ${target.name}: ${errorMessage(err)}`);
    }
    if (!reply.ok) throw new FunctionError('load', reply.error ?? 'load failed', reply.detail);
  }

  private async killProcess(): Promise<void> {
    const bridge = this.process;
    this.process = undefined;
    await bridge?.kill();
  }

  /** A running child with the current function loaded. */
  private async ready(): Promise<BridgeProcess> {
    if (this.process?.alive) return this.process;
    if (!this.target) throw new FunctionError('load', 'no function loaded');
    const bridge = await this.spawnBridge();
    await this.sendLoad(bridge, this.target);
    return bridge;
  }

  load(target: FunctionTarget): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) throw new FunctionError('load', 'runtime is stopping');
      const bridge = this.process?.alive ? this.process : await this.spawnBridge();
      await this.sendLoad(bridge, target);
      this.target = target;
    });
  }

  call(request: CallRequest): Promise<CallOutcome> {
    return this.serial.run(async (): Promise<CallOutcome> => {
      if (this.closed) return { ok: false, kind: 'crash', error: 'runtime is stopping' };
      let bridge: BridgeProcess;
      try {
        bridge = await this.ready();
      } catch (err) {
        return { ok: false, kind: 'load', error: errorMessage(err) };
      }
      const timeoutS = this.options.timeoutMs / 1000;
      try {
        const reply = await bridge.request(
          'call',
          { ctx: request.contextId, input: request.input, context: request.context },
          this.options.timeoutMs,
        );
        if (reply.ok) return { ok: true, output: reply.output ?? null };
        return {
          ok: false,
          kind: reply.kind ?? 'exception',
          error: reply.error ?? 'handler failed',
          ...(reply.detail ? { detail: reply.detail } : {}),
        };
      } catch (err) {
        if (this.closed) return { ok: false, kind: 'crash', error: 'runtime is stopping' };
        const timedOut = err instanceof TimedOut;
        await this.killProcess();
        const error = timedOut
          ? `handler did not return within ${timeoutS} s; the python process was killed and restarted, context.env of every context was lost`
          : `${errorMessage(err)}; python restarted, context.env of every context was lost`;
        this.options.logger.error({ input_key: request.context.input_key, kind: timedOut ? 'timeout' : 'crash' }, error);
        // Restart now rather than on the next call, so a broken restart shows up in the logs at once.
        try {
          await this.ready();
        } catch (restartErr) {
          this.options.logger.error({ err: restartErr }, 'python bridge could not be restarted; will retry on the next call');
        }
        return { ok: false, kind: timedOut ? 'timeout' : 'crash', error, stateLost: true };
      }
    });
  }

  drop(contextId: string): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed || !this.process?.alive) return;
      await this.process.request('drop', { ctx: contextId }, this.options.timeoutMs).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    // Not through `serial`: a hung handler holds it, and killing the child is what frees it.
    const bridge = this.process;
    this.process = undefined;
    await bridge?.kill(500);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
