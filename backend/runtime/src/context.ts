/**
 * The `context` a handler receives, as the course runtime
 * (lucasmsp/serverless:redis) defines it. `env` persists between calls of
 * the same context, so handlers keep their history there.
 */
export interface HandlerContext {
  host: string;
  port: number;
  input_key: string;
  /** null when REDIS_OUTPUT_KEY is unset (the course runtime passed None). */
  output_key: string | null;
  /**
   * The function file's modification time as the course runtime gives it:
   * local time, '%Y-%m-%d %H:%M:%S' (the runtime always passes that string;
   * in-process callers without a file may pass a number).
   */
  function_getmtime: string | number;
  /** When the last call finished (null before the first call). */
  last_execution: Date | null;
  env: Record<string, unknown>;
}

/** What the runtime's JS handler process hands a handler: the data plus the course Context's methods. */
export interface RuntimeContext extends HandlerContext {
  function_getmtime: string;
  /** Replaces `env` (it persists like any env). */
  set_env(env: Record<string, unknown>): void;
  /** Sets `last_execution` to now; the runtime calls it after every call, as the course runtime did. */
  confirm_execution(): void;
  /** Prints what each attribute means. */
  help(): void;
}

/** Answers a value or a promise of one (awaited): `unknown` covers both. */
export type Handler = (input: Record<string, unknown>, context: HandlerContext) => unknown;
