/**
 * The interface between the polling loop and a language: load a function,
 * call it for one context, forget a context. The Python and JavaScript
 * invokers both keep each context's `env` as live objects on their side
 * (a python3 child, a worker thread) and both enforce the per-call timeout by
 * killing that side, which is the only way to stop a handler stuck in a loop.
 */
import type { ErrorKind } from './errors.js';
import type { FunctionTarget, Language } from './function-source.js';

/** The parts of the handler's context the runtime decides; env and last_execution live with the handler. */
export interface ContextFields {
  host: string;
  port: number;
  input_key: string;
  output_key: string;
  function_getmtime: number;
}

export interface CallRequest {
  /** One context (one env) per input key. */
  contextId: string;
  /** The raw JSON text read from Redis, never re-encoded. */
  input: string;
  context: ContextFields;
}

export type CallOutcome =
  /** `output` is the JSON text to write, or null when the result was empty. */
  | { ok: true; output: string | null }
  | {
      ok: false;
      kind: ErrorKind;
      error: string;
      detail?: string;
      /** The handler's side was restarted: every context's env is gone. */
      stateLost?: boolean;
    };

export interface Invoker {
  readonly language: Language;
  /** Loads or reloads the function, keeping contexts; throws FunctionError('load') and keeps the previous one. */
  load(target: FunctionTarget): Promise<void>;
  call(request: CallRequest): Promise<CallOutcome>;
  drop(contextId: string): Promise<void>;
  /** Stops the child or worker; pending and later calls fail. */
  close(): Promise<void>;
}

/** Runs async sections one at a time: a handler side serves one call at a time. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
