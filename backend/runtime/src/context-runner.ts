/**
 * One context: one input key, its output keys, its handler host, its stats.
 * The poll loop offers each context its current input and moves on; the
 * context calls its handler when the input is new and it is not already busy,
 * so a context stuck in a slow or hung handler never delays another.
 *
 * Keys written per context (none when REDIS_OUTPUT_KEY is unset):
 *   <output>          the handler's result, JSON exactly as the handler's language encoded it
 *   <output>:stats    invocation counts, durations and errors (see stats.ts)
 *   <output>:error    the last failure: {error, kind, at, input_key, handler, detail?, state_lost?},
 *                     marked {resolved: true, resolved_at} after the next successful call (error-companion.ts)
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import type { ErrorKind, ErrorRecord } from './errors.js';
import type { FunctionLoader } from './function-loader.js';
import { ErrorCompanion } from './error-companion.js';
import type { CallOutcome, HandlerHost } from './handler-host.js';
import { setKey } from './redis-connection.js';
import type { RuntimeMetrics } from './runtime-metrics.js';
import { ContextStats } from './stats.js';

export interface RunnerDeps {
  config: RuntimeConfig;
  fn: FunctionLoader;
  redis: Redis;
  metrics: RuntimeMetrics;
  log: Logger;
}

export function errorRecord(fields: { kind: ErrorKind; error: string; inputKey: string; handler: string; detail?: string; stateLost?: boolean }): ErrorRecord {
  return {
    error: fields.error,
    kind: fields.kind,
    at: new Date().toISOString(),
    input_key: fields.inputKey,
    handler: fields.handler,
    ...(fields.detail ? { detail: fields.detail } : {}),
    ...(fields.stateLost ? { state_lost: true } : {}),
  };
}

interface PendingWrites {
  output?: string;
  stats: boolean;
}

export class ContextRunner {
  readonly stats: ContextStats;
  /** The last input the handler was given, to call it only when the input changes. */
  private lastInput: string | undefined;
  private inFlight: Promise<void> | undefined;
  /** `:error`: the last failure until a call succeeds. */
  private readonly errors: ErrorCompanion;
  /** Writes not yet made (Redis went away); retried before the next call. */
  private pending: PendingWrites = { stats: false };
  /** Flushes run one after the other: the poll's and the one after a call can meet. */
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly inputKey: string,
    readonly outputKey: string | undefined,
    private readonly deps: RunnerDeps,
  ) {
    this.stats = new ContextStats(inputKey, outputKey ?? null);
    this.errors = new ErrorCompanion(outputKey === undefined ? undefined : `${outputKey}:error`, deps.config.outputTtlSeconds);
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** The current value of the input key: calls the handler unless it is empty, unchanged or a call is still running. */
  offer(raw: string): void {
    if (this.stopped || this.inFlight) return;
    // The course runtime skips an empty value (`if data:`) rather than failing on it.
    if (raw.trim() === '') return;
    if (this.deps.config.callOnChangeOnly && raw === this.lastInput) return;
    const host = this.deps.fn.hostFor(this.inputKey);
    if (!host) return;
    // Recorded before the call: an input that makes the handler fail is not retried every period.
    this.lastInput = raw;
    this.inFlight = this.invoke(host, raw).finally(() => {
      this.inFlight = undefined;
    });
  }

  /** A new version of the function is serving: counted; the next call is still on the next new input. */
  noteReload(): void {
    this.stats.reloads++;
    this.pending.stats = true;
  }

  /** Waits for the call in flight, if any. */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
  }

  private async invoke(host: HandlerHost, raw: string): Promise<void> {
    const { config, fn } = this.deps;
    const started = performance.now();
    const outcome = await host.call({
      input: raw,
      context: {
        host: config.redisHost,
        port: config.redisPort,
        input_key: this.inputKey,
        output_key: this.outputKey ?? null,
        function_getmtime: fn.mtimeText,
      },
    });
    if (this.stopped) return;
    this.apply(outcome, performance.now() - started);
    try {
      await this.flush();
    } catch (err) {
      this.deps.log.warn({ err, input_key: this.inputKey }, 'could not write the result; will retry next period');
    }
  }

  private apply(outcome: CallOutcome, durationMs: number): void {
    const { metrics, log } = this.deps;
    metrics.recordCall(this.inputKey, outcome, durationMs / 1000);
    if (outcome.stateLost) this.stats.recordStateReset();
    if (outcome.ok) {
      this.stats.recordSuccess(durationMs, outcome.output !== null);
      if (outcome.output !== null) this.pending.output = outcome.output;
      this.errors.resolve();
      log.debug({ input_key: this.inputKey, ms: durationMs, wrote: outcome.output !== null }, 'handler ran');
    } else {
      this.stats.recordError(outcome.kind, durationMs);
      this.errors.report(errorRecord({ ...outcome, inputKey: this.inputKey, handler: this.deps.fn.name }));
      log.warn({ input_key: this.inputKey, kind: outcome.kind, error: outcome.error, detail: outcome.detail }, 'handler failed');
    }
    this.pending.stats = true;
  }

  /** Writes the pending output, error and stats in one transaction; keeps them pending if Redis fails. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    const { outputKey } = this;
    const pending = this.pending;
    this.pending = { stats: false };
    if (outputKey === undefined) return;
    if (pending.output === undefined && !this.errors.hasPending && !pending.stats) return;
    const { redis, config, fn } = this.deps;
    const ttl = config.outputTtlSeconds;
    const batch = redis.multi();
    if (pending.output !== undefined) setKey(batch, outputKey, pending.output, ttl);
    this.errors.queue(batch);
    if (pending.stats) {
      setKey(batch, `${outputKey}:stats`, JSON.stringify(this.stats.toRecord(fn.name, fn.language ?? 'none', fn.mtime)), ttl);
    }
    let ok = false;
    try {
      const results = await batch.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('redis transaction discarded');
      ok = true;
    } catch (err) {
      // Newer values (a call that finished meanwhile) win over the ones that failed to go out.
      this.pending = { output: this.pending.output ?? pending.output, stats: this.pending.stats || pending.stats };
      throw err;
    } finally {
      this.errors.settle(ok);
    }
  }
}
