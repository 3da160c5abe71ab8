/**
 * The child process that runs a JavaScript handler for one context (see
 * js-driver.ts), spoken to over Node's IPC channel. It keeps that context's
 * object, so `context.env` persists between calls exactly as in the Python
 * bridge, and serialises results itself so a non-JSON value is caught where
 * the handler produced it. After each call it kills what the handler left
 * running (child-processes.ts).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { killChildren, leftChildrenMessage, runningChildren } from './child-processes.js';
import type { Handler, RuntimeContext } from './context.js';
import { FunctionError, errorMessage } from './errors.js';
import type { ContextFields, WireReply } from './handler-host.js';
import { resultToJson } from './json-output.js';

export type ChildRequest =
  { id: number; op: 'load'; file: string; functionName: string; version: string } | { id: number; op: 'call'; input: string; context: ContextFields };

/** A stray error from handler code, logged by the runtime as one line. */
export interface ChildStrayError {
  stray: 'uncaughtException' | 'unhandledRejection';
  error: string;
  stack?: string;
}

if (!process.send) throw new Error('js-child.js must run as a child process with an IPC channel (see js-driver.ts)');

function send(message: WireReply | ChildStrayError | { ready: true; pid: number; node: string }): void {
  try {
    process.send?.(message);
  } catch {
    // The channel closed: the runtime is gone, and this process has no one to answer.
    process.exit(0);
  }
}

// The runtime owns this process's lifetime: when it goes, so does this process.
process.on('disconnect', () => process.exit(0));
// If memory runs out in the pod all the same, the kernel is to end this process, not the runtime.
try {
  writeFileSync('/proc/self/oom_score_adj', '1000');
} catch {
  // Not Linux, or /proc is not writable: the memory watch (memory-watch.ts) is still there.
}

const require = createRequire(import.meta.url);
let handler: Handler | undefined;
let context: RuntimeContext | undefined;

const HELP = `
        :param host: Address running Redis server
        :param port: Port running Redis server
        :param input_key: input key of Redis
        :param output_key: output key to store data in Redis
        :param function_getmtime: Timestamp of last update in usermodule file
        :param last_execution: Timestamp of last confirmed execution (and store)
        :param env: Dictionary to be used as context
`;

function newContext(fields: ContextFields): RuntimeContext {
  return {
    ...fields,
    last_execution: null,
    env: {},
    set_env(env) {
      this.env = env;
    },
    confirm_execution() {
      this.last_execution = new Date();
    },
    help() {
      console.log(HELP);
    },
  };
}

async function load(file: string, functionName: string, version: string): Promise<void> {
  // ES modules are cached by URL: a new query string is a new module, which
  // is how a changed file gets re-read. CommonJS has its own cache to clear.
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- Node's CommonJS cache is an object keyed by path
  delete require.cache[file];
  const mod = (await import(`${pathToFileURL(file).href}?v=${encodeURIComponent(version)}`)) as Record<string, unknown>;
  const fromDefault = (mod.default as Record<string, unknown> | undefined)?.[functionName];
  const fn = mod[functionName] ?? fromDefault;
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => k !== 'default');
    throw new FunctionError('load', `${file} exports no function ${JSON.stringify(functionName)} (exports: ${names.join(', ') || 'none'})`);
  }
  handler = fn as Handler;
}

async function call(input: string, fields: ContextFields): Promise<Omit<WireReply, 'id'>> {
  if (!handler) return { ok: false, kind: 'load', error: 'no function loaded' };
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(input) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, kind: 'invalid_input', error: `input is not JSON: ${errorMessage(err)}` };
  }
  if (!context) context = newContext(fields);
  else Object.assign(context, fields);
  let result: unknown;
  try {
    result = await handler(data, context);
  } catch (err) {
    const detail = err instanceof Error ? err.stack : undefined;
    return { ok: false, kind: 'exception', error: describe(err), ...(detail ? { detail } : {}) };
  } finally {
    context.confirm_execution();
  }
  try {
    return { ok: true, output: resultToJson(result) };
  } catch (err) {
    return { ok: false, kind: 'invalid_output', error: errorMessage(err) };
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `thrown value: ${String(err)}`;
}

// A handler's forgotten promise or timer must not take the process (and its env) down.
for (const stray of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(stray, (err: unknown) => {
    const report: ChildStrayError = { stray, error: describe(err) };
    if (err instanceof Error && err.stack) report.stack = err.stack;
    send(report);
  });
}

async function perform(msg: ChildRequest): Promise<Omit<WireReply, 'id'>> {
  try {
    if (msg.op === 'load') {
      await load(msg.file, msg.functionName, msg.version);
      return { ok: true };
    }
    return await call(msg.input, msg.context);
  } catch (err) {
    const kind = err instanceof FunctionError ? err.kind : 'load';
    const detail = err instanceof Error ? err.stack : undefined;
    return { ok: false, kind, error: errorMessage(err), ...(detail ? { detail } : {}) };
  }
}

async function answer(msg: ChildRequest): Promise<WireReply> {
  const reply = await perform(msg);
  // Whatever the outcome, nothing the user's code started (at import or in a call) may outlive it.
  const left = runningChildren();
  if (left.length === 0) return { ...reply, id: msg.id };
  killChildren(left);
  return { id: msg.id, ok: false, kind: 'fork', error: leftChildrenMessage(left) };
}

process.on('message', (msg: ChildRequest) => {
  void answer(msg).then((reply) => send(reply));
});
send({ ready: true, pid: process.pid, node: process.version });
