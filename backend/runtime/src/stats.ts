/**
 * Invocation metrics of one context, published as JSON to
 * `<output key>:stats` after every call so a dashboard (or `redis-cli get`)
 * sees counts, durations and errors without scraping logs.
 */
import type { ErrorKind } from './errors.js';

export interface StatsRecord {
  input_key: string;
  output_key: string | null;
  handler: string;
  language: string;
  invocations: number;
  successes: number;
  errors: number;
  errors_by_kind: Partial<Record<ErrorKind, number>>;
  /** Calls whose result was falsy/empty, so nothing was written. */
  empty_results: number;
  writes: number;
  last_duration_ms: number | null;
  avg_duration_ms: number | null;
  max_duration_ms: number | null;
  total_duration_ms: number;
  /** Times the handler's process was restarted (timeout, crash, memory), losing env. */
  state_resets: number;
  reloads: number;
  function_getmtime: number;
  last_invocation_at: string | null;
  last_success_at: string | null;
  last_error_at: string | null;
  started_at: string;
  updated_at: string;
}

export class ContextStats {
  private invocations = 0;
  private successes = 0;
  private errors = 0;
  private readonly errorsByKind: Partial<Record<ErrorKind, number>> = {};
  private emptyResults = 0;
  private writes = 0;
  private lastMs: number | null = null;
  private maxMs: number | null = null;
  private totalMs = 0;
  private stateResets = 0;
  private lastInvocationAt: string | null = null;
  private lastSuccessAt: string | null = null;
  private lastErrorAt: string | null = null;
  private readonly startedAt = new Date().toISOString();
  reloads = 0;

  constructor(
    readonly inputKey: string,
    readonly outputKey: string | null,
  ) {}

  recordSuccess(durationMs: number, wrote: boolean): void {
    this.recordCall(durationMs);
    this.successes++;
    this.lastSuccessAt = this.lastInvocationAt;
    if (wrote) this.writes++;
    else this.emptyResults++;
  }

  recordError(kind: ErrorKind, durationMs: number): void {
    this.recordCall(durationMs);
    this.errors++;
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
    this.lastErrorAt = this.lastInvocationAt;
  }

  /** This context's env was discarded because the handler's process restarted. */
  recordStateReset(): void {
    this.stateResets++;
  }

  private recordCall(durationMs: number): void {
    this.invocations++;
    this.lastMs = durationMs;
    this.maxMs = Math.max(this.maxMs ?? 0, durationMs);
    this.totalMs += durationMs;
    this.lastInvocationAt = new Date().toISOString();
  }

  toRecord(handler: string, language: string, functionMtime: number): StatsRecord {
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return {
      input_key: this.inputKey,
      output_key: this.outputKey,
      handler,
      language,
      invocations: this.invocations,
      successes: this.successes,
      errors: this.errors,
      errors_by_kind: { ...this.errorsByKind },
      empty_results: this.emptyResults,
      writes: this.writes,
      last_duration_ms: this.lastMs === null ? null : round(this.lastMs),
      avg_duration_ms: this.invocations === 0 ? null : round(this.totalMs / this.invocations),
      max_duration_ms: this.maxMs === null ? null : round(this.maxMs),
      total_duration_ms: round(this.totalMs),
      state_resets: this.stateResets,
      reloads: this.reloads,
      function_getmtime: functionMtime,
      last_invocation_at: this.lastInvocationAt,
      last_success_at: this.lastSuccessAt,
      last_error_at: this.lastErrorAt,
      started_at: this.startedAt,
      updated_at: new Date().toISOString(),
    };
  }
}
