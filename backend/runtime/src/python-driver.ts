/**
 * Python handlers: a long-lived `python3` child (python/bridge.py) speaking
 * JSON lines, one child per context (see handler-host.ts). The child keeps
 * its context's `env` as live Python objects between calls, limits its own
 * memory (HANDLER_MEMORY_MB, see handler-limits.ts) and refuses forks.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import type { Logger } from 'pino';
import type { FunctionTarget } from './function-source.js';
import type { HandlerOutput } from './handler-output.js';
import type { HostChannel, HostDriver, WireReply } from './handler-host.js';
import { ReplyChannel } from './reply-channel.js';

/** Compiled code lives in backend/runtime/dist/src/; the bridge is not compiled and stays in backend/runtime/python/. */
export const BRIDGE_PATH = fileURLToPath(new URL('../../python/bridge.py', import.meta.url));

export interface PythonDriverOptions {
  pythonBin: string;
  /** Folders put first on the child's PYTHONPATH (the packages installed at start). */
  pythonPath?: string[];
  bridgePath?: string;
  /** HANDLER_MEMORY_MB, the bridge's address-space limit (see handler-limits.ts); 0: none. */
  memoryMb?: number;
}

/** One python3 process and its protocol streams. */
class BridgeProcess implements HostChannel {
  private readonly replies = new ReplyChannel<WireReply>('python process is not running');
  readonly ready: Promise<Record<string, unknown>>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    logger: Logger,
    output: HandlerOutput,
  ) {
    const { promise: ready, resolve: resolveReady, reject: rejectReady } = Promise.withResolvers<Record<string, unknown>>();
    this.ready = ready;
    this.ready.catch(() => undefined);

    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: WireReply & { ready?: boolean; pid?: number; python?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        logger.warn({ line: line.slice(0, 500) }, 'python bridge wrote a line that is not protocol');
        return;
      }
      if (msg.ready) resolveReady({ python_pid: msg.pid ?? child.pid ?? 0, python: msg.python ?? '?' });
      else this.replies.deliver(msg);
    });
    // Everything the handler prints arrives here (the bridge points its stdout at stderr).
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));
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

  get endReason(): string | undefined {
    return this.replies.closedBecause;
  }

  request(body: Record<string, unknown>, timeoutMs: number): Promise<WireReply> {
    return this.replies.request((id) => this.child.stdin.write(`${JSON.stringify({ id, ...body })}\n`), timeoutMs);
  }

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

export function pythonDriver(options: PythonDriverOptions): HostDriver {
  const pythonPath = [...(options.pythonPath ?? []), ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])];
  return {
    language: 'python',
    label: 'python process',
    program: options.pythonBin,
    stopVerb: 'killed',
    start(output, logger) {
      const child = spawn(options.pythonBin, [options.bridgePath ?? BRIDGE_PATH], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PYTHONDONTWRITEBYTECODE: '1',
          PYTHONIOENCODING: 'utf-8',
          PYTHONUNBUFFERED: '1',
          IMGFLEET_RUNTIME_PID: String(process.pid),
          IMGFLEET_HANDLER_MEMORY_MB: String(options.memoryMb ?? 0),
          ...(pythonPath.length > 0 ? { PYTHONPATH: pythonPath.join(path.delimiter) } : {}),
        },
      });
      return new BridgeProcess(child, logger, output);
    },
    loadRequest: (target: FunctionTarget) => ({
      root: target.root,
      file: target.file,
      module: target.module,
      function: target.functionName,
      single_file: target.standalone,
    }),
  };
}
