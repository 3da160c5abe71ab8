/**
 * The polling loop: a TypeScript re-creation of lucasmsp/serverless:redis.
 *
 * Every INTERVAL seconds: reload the function if its file changed, find the
 * input key(s), and offer each context its current value (context-runner.ts
 * decides whether to call the handler). The loop never waits for a handler,
 * so every context keeps its period whatever another one's handler does.
 * Nothing a handler or Redis does may end the loop: failures are logged,
 * reported under `<output key>:error` and the next period runs as usual.
 *
 * With a glob input key, each context writes to `<REDIS_OUTPUT_KEY>:<suffix>`.
 * METRICS_KEY_PREFIX goes before every key read and written (key-pattern.ts).
 * Failures to load the function itself (and to install its requirements) go
 * to `<REDIS_OUTPUT_KEY>:error`, and are marked resolved once a version loads
 * (for requirements: only a restart installs them again).
 */
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import { ContextRunner, errorRecord } from './context-runner.js';
import type { RunnerDeps } from './context-runner.js';
import { ErrorCompanion } from './error-companion.js';
import { errorMessage } from './errors.js';
import type { ErrorKind, ErrorRecord } from './errors.js';
import type { FunctionLoader } from './function-loader.js';
import { parseKeyPattern } from './key-pattern.js';
import type { KeyPattern } from './key-pattern.js';
import type { RuntimeRedis } from './redis-connection.js';
import type { RuntimeMetrics } from './runtime-metrics.js';

const SCAN_COUNT = 500;

/** Failures of the function as a whole, written to `<REDIS_OUTPUT_KEY>:error` by the loop rather than by a context. */
const FUNCTION_KINDS: readonly ErrorKind[] = ['load', 'unsafe_archive', 'requirements'];

export class PollLoop {
  readonly contexts = new Map<string, ContextRunner>();
  polls = 0;
  lastPollAt: number | undefined;
  startedAt = Date.now();
  private readonly keys: KeyPattern;
  private readonly deps: RunnerDeps;
  /** `<REDIS_OUTPUT_KEY>:error` for failures of the function itself. */
  private readonly functionErrors: ErrorCompanion;
  private lastFunctionErrorKind: ErrorKind | undefined;
  /** Whether to look for a load error left unresolved by an earlier run (once, when Redis is first there). */
  private staleCheckDue = true;
  private lastPollError: string | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly fn: FunctionLoader,
    private readonly connection: RuntimeRedis,
    private readonly metrics: RuntimeMetrics,
    private readonly log: Logger,
  ) {
    this.keys = parseKeyPattern(config.inputKey, config.outputKey, config.metricsKeyPrefix);
    this.deps = { config, fn, redis: connection.client, metrics, log };
    const errorKey = this.keys.outputKey === undefined ? undefined : `${this.keys.outputKey}:error`;
    this.functionErrors = new ErrorCompanion(errorKey, config.outputTtlSeconds);
  }

  /** Records a failure of the function as a whole (load, requirements), written on the next poll. */
  noteFunctionError(kind: ErrorKind, error: string, detail?: string): void {
    const inputKey = this.config.metricsKeyPrefix + this.config.inputKey;
    this.functionErrors.report(errorRecord({ kind, error, detail, inputKey, handler: this.fn.name }));
    this.lastFunctionErrorKind = kind;
  }

  start(): void {
    this.startedAt = Date.now();
    this.current = this.poll();
  }

  /** Stops polling and waits for the poll and the calls in flight (kill the hosts first to end hung calls). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    for (const ctx of this.contexts.values()) ctx.stop();
    await this.current.catch(() => undefined);
    clearTimeout(this.timer);
    await Promise.all([...this.contexts.values()].map((c) => c.settle()));
  }

  private async poll(): Promise<void> {
    const started = Date.now();
    try {
      await this.pollOnce();
      if (this.lastPollError !== undefined) this.log.info('polling recovered');
      this.lastPollError = undefined;
    } catch (err) {
      this.metrics.pollErrors.inc();
      const message = errorMessage(err);
      // Once per distinct failure: an outage would otherwise log every period.
      if (message !== this.lastPollError) this.log.warn({ err }, 'poll failed; will retry next period');
      this.lastPollError = message;
    } finally {
      this.polls++;
      this.lastPollAt = Date.now();
      this.metrics.polls.inc();
    }
    if (this.stopping) return;
    const wait = Math.max(0, this.config.intervalSeconds * 1000 - (Date.now() - started));
    this.timer = setTimeout(() => {
      this.current = this.poll();
    }, wait);
  }

  private async pollOnce(): Promise<void> {
    await this.checkFunction();
    if (!this.connection.ready) return;
    await this.flushPending();
    const inputKeys = await this.discoverKeys();
    if (this.keys.isGlob) await this.dropVanished(inputKeys);
    if (inputKeys.length === 0 || !this.fn.loaded) return;
    const redis = this.connection.client;
    const values = this.keys.isGlob ? await redis.mget(...inputKeys) : [await redis.get(this.keys.inputKey)];
    for (const [i, key] of inputKeys.entries()) {
      const raw = values[i];
      if (raw === null || raw === undefined || this.stopping) continue;
      this.contextFor(key).offer(raw);
    }
  }

  private async checkFunction(): Promise<void> {
    const change = await this.fn.checkForChange();
    if (change === 'unchanged') return;
    if (change === 'reloaded') {
      this.metrics.reloads.inc();
      for (const ctx of this.contexts.values()) ctx.noteReload();
      // Requirements are installed at start only: a new version does not bring them.
      if (this.lastFunctionErrorKind !== 'requirements') this.functionErrors.resolve();
    } else {
      this.noteFunctionError(change.kind, change.error, change.detail);
    }
    this.metrics.loaded.set(this.fn.loaded ? 1 : 0);
  }

  private async flushPending(): Promise<void> {
    if (this.staleCheckDue) {
      await this.resolveStaleFunctionError();
      this.staleCheckDue = false;
    }
    if (this.functionErrors.hasPending) {
      const batch = this.connection.client.multi();
      this.functionErrors.queue(batch);
      let ok = false;
      try {
        const results = await batch.exec();
        ok = results !== null && !results.some(([err]) => err);
      } finally {
        this.functionErrors.settle(ok);
      }
    }
    for (const ctx of this.contexts.values()) await ctx.flush();
  }

  /**
   * A load error an earlier run left under `<REDIS_OUTPUT_KEY>:error` (the pod was restarted with a fixed
   * function) is history once this run has loaded the function: marked resolved like any other.
   */
  private async resolveStaleFunctionError(): Promise<void> {
    const key = this.functionErrors.key;
    if (key === undefined || !this.fn.loaded) return;
    const text = await this.connection.client.get(key);
    if (text === null) return;
    let record: Partial<ErrorRecord>;
    try {
      record = JSON.parse(text) as Partial<ErrorRecord>;
    } catch {
      return; // Not ours to judge.
    }
    const earlier = typeof record.at === 'string' && Date.parse(record.at) < this.startedAt;
    if (record.resolved || !earlier || record.kind === undefined || !FUNCTION_KINDS.includes(record.kind)) return;
    this.functionErrors.adopt(text);
    this.functionErrors.resolve();
  }

  private contextFor(inputKey: string): ContextRunner {
    let ctx = this.contexts.get(inputKey);
    if (!ctx) {
      const outputKey = this.config.outputKey === undefined ? undefined : this.keys.outputKeyFor(inputKey);
      ctx = new ContextRunner(inputKey, outputKey, this.deps);
      this.contexts.set(inputKey, ctx);
      this.metrics.contexts.set(this.contexts.size);
      if (this.keys.isGlob) this.log.info({ input_key: inputKey, output_key: outputKey ?? null }, 'new context');
    }
    return ctx;
  }

  private async discoverKeys(): Promise<string[]> {
    if (!this.keys.isGlob) return [this.keys.inputKey];
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.connection.client.scan(cursor, 'MATCH', this.keys.pattern, 'COUNT', SCAN_COUNT, 'TYPE', 'string');
      cursor = next;
      for (const key of batch) if (!this.keys.isOwnKey(key)) found.add(key);
    } while (cursor !== '0');
    return [...found].sort();
  }

  private async dropVanished(present: string[]): Promise<void> {
    const keep = new Set(present);
    for (const [key, ctx] of this.contexts) {
      if (keep.has(key)) continue;
      this.contexts.delete(key);
      ctx.stop();
      await this.fn.drop(key);
      this.metrics.forget(key);
      this.metrics.contexts.set(this.contexts.size);
      this.log.info({ input_key: key, output_key: ctx.outputKey ?? null }, 'input key disappeared; context dropped');
    }
  }
}
