/**
 * The `context` a handler receives, as the course runtime
 * (lucasmsp/serverless:redis) defines it. `env` persists between calls of
 * the same context, so handlers keep their history there.
 */
export interface HandlerContext {
  host: string;
  port: number;
  input_key: string;
  output_key: string;
  /** Modification time of the function file, seconds since the epoch. */
  function_getmtime: number;
  /** When the handler last ran for this context (null before the first call). */
  last_execution: Date | null;
  env: Record<string, unknown>;
}

export type Handler = (
  input: Record<string, unknown>,
  context: HandlerContext,
) => unknown | Promise<unknown>;
