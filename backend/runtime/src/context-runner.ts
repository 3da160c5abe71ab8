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
 *                     marked {resolved: true, resolved_at} after the next successful call
 */
import { performance } from 'node:perf_hooks';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import type { ErrorKind, ErrorRecord } from './errors.js';
import type { FunctionLoader } from './function-loader.js';
import type { CallOutcome } from './handler-host.js';
import type { RuntimeMetrics } from './runtime-metrics.js';
import { ContextStats } from './stats.js';

export interface RunnerDeps {
  config: RuntimeConfig;
  fn: FunctionLoader;
  redis: Redis;
  metrics: RuntimeMetrics;
  log: Logger;
}

/** SET with the configured expiry (OUTPUT_TTL), in a transaction or not. */
export function setKey(target: ChainableCommander | Redis, key: string, value: string, ttlSeconds: number) {
  return ttlSeconds > 0 ? target.set(key, value, 'EX', Math.max(1, Math.round(ttlSeconds))) : target.set(key, value);
}

export function errorRecord(
  fields: { kind: ErrorKind; error: string; inputKey: string; handler: string; detail?: string; stateLost?: boolean },
): ErrorRecord {
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
  error?: ErrorRecord;
  stats: boolean;
}

export class ContextRunner {
  readonly stats: ContextStats;
  /** The last input the handler was given, to call it only when the input changes. */
  private lastInput: string | undefined;
  private inFlight: Promise<void> | undefined;
  /** The error shown under `:error` until a call succeeds. */
  private openError: ErrorRecord | undefined;
  /** Writes not yet made (Redis went away); retried before the next call. */
  private pending: PendingWrites = { stats: false };
  private stopped = false;

  constructor(
    readonly inputKey: string,
    readonly outputKey: string | undefined,
    private readonly deps: RunnerDeps,
  ) {
    this.stats = new ContextStats(inputKey, outputKey ?? null);
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
    this.inFlight = this.invoke(raw).finally(() => {
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

  private async invoke(raw: string): Promise<void> {
    const host = this.deps.fn.hostFor(this.inputKey)!;
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
    if (outcome.ok) {
      this.stats.recordSuccess(durationMs, outcome.output !== null);
      if (outcome.output !== null) this.pending.output = outcome.output;
      if (this.openError) {
        this.pending.error = { ...this.openError, resolved: true, resolved_at: new Date().toISOString() };
        this.openError = undefined;
      }
      log.debug({ input_key: this.inputKey, ms: durationMs, wrote: outcome.output !== null }, 'handler ran');
    } else {
      this.stats.recordError(outcome.kind, durationMs);
      if (outcome.stateLost) this.stats.recordStateReset();
      this.openError = errorRecord({ ...outcome, inputKey: this.inputKey, handler: this.deps.fn.name });
      this.pending.error = this.openError;
      log.warn({ input_key: this.inputKey, kind: outcome.kind, error: outcome.error, detail: outcome.detail }, 'handler failed');
    }
    this.pending.stats = true;
  }

  /** Writes the pending output, error and stats in one transaction; keeps them pending if Redis fails. */
  async flush(): Promise<void> {
    const { outputKey } = this;
    const pending = this.pending;
    this.pending = { stats: false };
    if (outputKey === undefined) return;
    if (pending.output === undefined && pending.error === undefined && !pending.stats) return;
    const { redis, config, fn } = this.deps;
    const ttl = config.outputTtlSeconds;
    const batch = redis.multi();
    if (pending.output !== undefined) setKey(batch, outputKey, pending.output, ttl);
    if (pending.error !== undefined) setKey(batch, `${outputKey}:error`, JSON.stringify(pending.error), ttl);
    if (pending.stats) {
      setKey(batch, `${outputKey}:stats`, JSON.stringify(this.stats.toRecord(fn.name, fn.language ?? 'none', fn.mtime)), ttl);
    }
    try {
      const results = await batch.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('redis transaction discarded');
    } catch (err) {
      // Newer values (a call that finished meanwhile) win over the ones that failed to go out.
      this.pending = {
        output: this.pending.output ?? pending.output,
        error: this.pending.error ?? pending.error,
        stats: this.pending.stats || pending.stats,
      };
      throw err;
    }
  }
}
