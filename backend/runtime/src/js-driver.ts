/**
 * JavaScript handlers: a Node child process (js-child.ts) per context, spoken
 * to over Node's IPC channel (see handler-host.ts).
 *
 * Why a process and not a worker thread of the runtime: a worker's memory is
 * the runtime's. A worker's resourceLimits cap its V8 heap but not its
 * Buffers, and memory a dead worker leaves to the allocator does not always
 * return to the system; a handler once took the runtime to 3.5 GB under a
 * 256 Mi pod limit. A process is capped (handler-limits.ts), killed whole
 * when it spins or overruns, and gives everything back when it ends. It
 * costs about what a worker does: some 8 MiB of its own, the program's code
 * being shared.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { FunctionTarget } from './function-source.js';
import type { HandlerOutput } from './handler-output.js';
import type { HostChannel, HostDriver, WireReply } from './handler-host.js';
import { memoryLimitText, nodeMemoryFlags } from './handler-limits.js';
import type { ChildStrayError } from './js-child.js';
import { watchMemory } from './memory-watch.js';
import { ReplyChannel } from './reply-channel.js';

const CHILD_PATH = fileURLToPath(new URL('./js-child.js', import.meta.url));

/** What V8 writes to stderr when the heap limit ends the process. */
const HEAP_OOM = /JavaScript heap out of memory|Reached heap limit/;
/** How much of the end of its stderr is kept to tell why a process died. */
const STDERR_TAIL_CHARS = 4096;
/** How long a dead process's last output may take to arrive, to tell why it died. */
const LAST_WORDS_MS = 1000;

export interface JsDriverOptions {
  /** HANDLER_MEMORY_MB; 0: no limit. */
  memoryMb: number;
}

type ChildMessage = WireReply | ChildStrayError | { ready: true; pid: number; node: string };

class HandlerProcess implements HostChannel {
  private readonly replies = new ReplyChannel<WireReply>('handler process is not running');
  readonly ready: Promise<Record<string, unknown>>;
  private readonly child: ChildProcess;
  private stderrTail = '';
  /** Set when the memory watch found the process over its limit (it is then killed). */
  private overLimit: number | undefined;

  constructor(
    logger: Logger,
    output: HandlerOutput,
    private readonly options: JsDriverOptions,
  ) {
    const child = fork(CHILD_PATH, [], {
      // Not the runtime's own flags (a test runner's, an inspector's): the limits, and NODE_OPTIONS as set.
      execArgv: nodeMemoryFlags(options.memoryMb),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    const { promise: ready, resolve: resolveReady, reject: rejectReady } = Promise.withResolvers<Record<string, unknown>>();
    this.ready = ready;
    this.ready.catch(() => undefined);

    child.on('message', (msg: ChildMessage) => {
      if ('ready' in msg) resolveReady({ pid: msg.pid, node: msg.node });
      else if ('stray' in msg) {
        // `err` is the other process's own description (no Error object crosses the channel).
        logger.warn({ source: 'handler', pid: child.pid, err: msg.error, stack: msg.stack }, `${msg.stray} in handler code`);
      } else this.replies.deliver(msg);
    });
    child.stdout?.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      output.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    const stopWatch =
      options.memoryMb > 0 && child.pid !== undefined
        ? watchMemory(child.pid, options.memoryMb * 1024 * 1024, (bytes) => {
            this.overLimit = bytes;
            child.kill('SIGKILL');
          })
        : () => undefined;
    child.on('error', (err) => {
      stopWatch();
      const gone = this.replies.close(`handler process failed: ${err.message}`);
      if (gone) rejectReady(gone);
    });
    child.on('exit', (code, signal) => {
      stopWatch();
      void this.whyGone(code, signal).then(({ why, memory }) => {
        const gone = this.replies.close(why, memory ? 'memory' : undefined);
        if (gone) rejectReady(gone);
      });
    });
  }

  get alive(): boolean {
    return this.replies.open;
  }

  get endReason(): string | undefined {
    return this.replies.closedBecause;
  }

  request(body: Record<string, unknown>, timeoutMs: number): Promise<WireReply> {
    return this.replies.request((id) => this.child.send({ ...body, id }), timeoutMs);
  }

  async kill(graceMs = 0): Promise<void> {
    if (!this.replies.open || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    if (graceMs > 0 && this.child.connected) {
      // Closing the channel ends the child (js-child.ts) unless a handler is stuck.
      this.child.disconnect();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  /** Why the process ended; V8's own message about its heap may arrive just after the exit. */
  private async whyGone(code: number | null, signal: NodeJS.Signals | null): Promise<{ why: string; memory: boolean }> {
    const limit = memoryLimitText(this.options.memoryMb);
    if (this.overLimit !== undefined) {
      const mib = Math.ceil(this.overLimit / (1024 * 1024));
      return { why: `the handler went over its ${limit}: its process reached ${mib} MiB resident`, memory: true };
    }
    const stderr = this.child.stderr;
    if (signal === 'SIGABRT' && stderr && !stderr.readableEnded && !HEAP_OOM.test(this.stderrTail)) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([once(stderr, 'end'), new Promise((r) => (timer = setTimeout(r, LAST_WORDS_MS)))]).catch(() => undefined);
      clearTimeout(timer);
    }
    if (HEAP_OOM.test(this.stderrTail) && this.options.memoryMb > 0) {
      return { why: `the handler went over its ${limit}: its JavaScript heap is full`, memory: true };
    }
    return { why: `handler process exited (${signal ?? `code ${code}`})`, memory: false };
  }
}

export function jsDriver(options: JsDriverOptions): HostDriver {
  let loads = 0;
  return {
    language: 'javascript',
    label: 'handler process',
    program: 'the handler process (node)',
    stopVerb: 'killed',
    start: (output, logger) => new HandlerProcess(logger, output, options),
    // ES modules are cached by URL: a new version string is a new module.
    loadRequest: (target: FunctionTarget) => ({
      file: target.file,
      functionName: target.functionName,
      version: `${target.file}@${target.name}#${++loads}-${Date.now()}`,
    }),
  };
}
