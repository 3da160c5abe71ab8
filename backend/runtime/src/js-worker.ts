/**
 * The worker thread that runs JavaScript handlers (see js-invoker.ts). It
 * keeps one context object per input key, so `context.env` persists between
 * calls exactly as in the Python bridge, and serialises results itself so a
 * non-JSON value is caught where the handler produced it.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import type { Handler, HandlerContext } from './context.js';
import { FunctionError, errorMessage } from './errors.js';
import type { ContextFields } from './invoker.js';
import { resultToJson } from './json-output.js';

export type WorkerRequest =
  | { id: number; op: 'load'; file: string; functionName: string; version: string }
  | { id: number; op: 'call'; ctx: string; input: string; context: ContextFields }
  | { id: number; op: 'drop'; ctx: string };

export type WorkerReply =
  | { id: number; ok: true; output?: string | null }
  | { id: number; ok: false; kind: string; error: string; detail?: string };

const port = parentPort;
if (!port) throw new Error('js-worker.js must run in a worker thread');

const require = createRequire(import.meta.url);
let handler: Handler | undefined;
const contexts = new Map<string, HandlerContext>();

async function load(file: string, functionName: string, version: string): Promise<void> {
  // ES modules are cached by URL: a new query string is a new module, which
  // is how a changed file gets re-read. CommonJS has its own cache to clear.
  delete require.cache[file];
  const mod = (await import(`${pathToFileURL(file).href}?v=${encodeURIComponent(version)}`)) as Record<string, unknown>;
  const fromDefault = (mod.default as Record<string, unknown> | undefined)?.[functionName];
  const fn = mod[functionName] ?? fromDefault;
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => k !== 'default');
    throw new FunctionError(
      'load',
      `${file} exports no function ${JSON.stringify(functionName)} (exports: ${names.join(', ') || 'none'})`,
    );
  }
  handler = fn as Handler;
}

async function call(ctx: string, input: string, fields: ContextFields): Promise<WorkerReply> {
  if (!handler) return { id: 0, ok: false, kind: 'load', error: 'no function loaded' };
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(input) as Record<string, unknown>;
  } catch (err) {
    return { id: 0, ok: false, kind: 'invalid_input', error: `input is not JSON: ${errorMessage(err)}` };
  }
  let context = contexts.get(ctx);
  if (!context) {
    context = { ...fields, last_execution: null, env: {} };
    contexts.set(ctx, context);
  } else {
    Object.assign(context, fields);
  }
  const started = new Date();
  let result: unknown;
  try {
    result = await handler(data, context);
  } catch (err) {
    const detail = err instanceof Error ? err.stack : undefined;
    return { id: 0, ok: false, kind: 'exception', error: describe(err), ...(detail ? { detail } : {}) };
  } finally {
    context.last_execution = started;
  }
  try {
    return { id: 0, ok: true, output: resultToJson(result) };
  } catch (err) {
    return { id: 0, ok: false, kind: 'invalid_output', error: errorMessage(err) };
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `thrown value: ${String(err)}`;
}

/** A stray error from handler code, logged by the main thread as one line. */
export interface WorkerStrayError {
  stray: 'uncaughtException' | 'unhandledRejection';
  error: string;
  stack?: string;
}

// A handler's forgotten promise or timer must not take the worker (and every env) down.
for (const stray of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(stray, (err: unknown) => {
    const report: WorkerStrayError = { stray, error: describe(err) };
    if (err instanceof Error && err.stack) report.stack = err.stack;
    port.postMessage(report);
  });
}

port.on('message', (msg: WorkerRequest) => {
  void (async () => {
    let reply: WorkerReply;
    try {
      if (msg.op === 'load') {
        await load(msg.file, msg.functionName, msg.version);
        reply = { id: msg.id, ok: true };
      } else if (msg.op === 'call') {
        reply = { ...(await call(msg.ctx, msg.input, msg.context)), id: msg.id };
      } else {
        contexts.delete(msg.ctx);
        reply = { id: msg.id, ok: true };
      }
    } catch (err) {
      const kind = err instanceof FunctionError ? err.kind : 'load';
      const detail = err instanceof Error ? err.stack : undefined;
      reply = { id: msg.id, ok: false, kind, error: errorMessage(err), ...(detail ? { detail } : {}) };
    }
    port.postMessage(reply);
  })();
});
port.postMessage({ ready: true });
