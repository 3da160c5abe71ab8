/**
 * What can go wrong with a user's function, as reported in the error record
 * written to `<output key>:error`. The kind lets a dashboard tell a bug in the
 * handler from a bad deployment without parsing messages.
 */
export type ErrorKind =
  /** The handler raised or threw. */
  | 'exception'
  /** The handler ran past HANDLER_TIMEOUT; its process was killed and restarted. */
  | 'timeout'
  /** The handler returned something JSON cannot represent (a set, a function, NaN, a cycle…). */
  | 'invalid_output'
  /** The value under the input key is not JSON. */
  | 'invalid_input'
  /** The function could not be loaded (syntax error, missing module or function). */
  | 'load'
  /** The ZIP was refused: an entry escapes the folder, is a link, or the archive is too big. */
  | 'unsafe_archive'
  /** The Python process or JS process died outside the runtime's control. */
  | 'crash'
  /** The handler went over HANDLER_MEMORY_MB (see handler-limits.ts). */
  | 'memory'
  /** The handler forked, or left a child process running: refused, the process killed. */
  | 'fork'
  /** The requirements (REQUIREMENTS / NEW_REQUERIMENTS) could not be installed at start. */
  | 'requirements';

/** Every kind, for whoever must list them (a Record, so a kind added above and not here does not compile). */
const KINDS: Record<ErrorKind, true> = {
  exception: true,
  timeout: true,
  invalid_output: true,
  invalid_input: true,
  load: true,
  unsafe_archive: true,
  crash: true,
  memory: true,
  fork: true,
  requirements: true,
};
export const ERROR_KINDS = Object.keys(KINDS) as ErrorKind[];

/** A failure that has a kind to report; anything else is treated as the runtime's own bug. */
export class FunctionError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'FunctionError';
  }
}

/** The record written to `<output key>:error`. */
export interface ErrorRecord {
  error: string;
  kind: ErrorKind;
  at: string;
  input_key: string;
  handler: string;
  /** Traceback or stack, when the language gave one. */
  detail?: string;
  /** Set when the failure discarded this context's handler state (context.env). */
  state_lost?: boolean;
  /** Set once a later call succeeded: the error is history, not the current state. */
  resolved?: boolean;
  resolved_at?: string;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
