/**
 * The polling loop: a TypeScript re-creation of lucasmsp/serverless:redis.
 *
 * Every INTERVAL seconds: reload the function if its file changed, find the
 * input key(s), and for each whose value changed call the handler and write
 * its result to the output key. Nothing a handler or Redis does may end the
 * loop: failures are logged, reported under `<output key>:error` and the next
 * period runs as usual.
 *
 * Keys written per context (one context per input key):
 *   <output>          the handler's result, JSON exactly as the handler's language encoded it
 *   <output>:stats    invocation counts, durations and errors (see stats.ts)
 *   <output>:error    the last failure: {error, kind, at, input_key, handler, detail?, state_lost?}
 * With a glob input key, <output> is `<REDIS_OUTPUT_KEY>:<suffix>`. Failures to
 * load the function itself go to `<REDIS_OUTPUT_KEY>:error`.
 */
import { performance } from 'node:perf_hooks';
import type { ChainableCommander, Redis } from 'ioredis';
import pino from 'pino';
import type { Logger } from 'pino';
import { resolveRuntimeConfig } from './config.js';
import type { RuntimeConfig, RuntimeOptions } from './config.js';
import { errorMessage } from './errors.js';
import type { ErrorKind, ErrorRecord } from './errors.js';
import { FunctionLoader } from './function-loader.js';
import type { LoadFailure } from './function-loader.js';
import type { Language } from './function-source.js';
import type { CallOutcome } from './invoker.js';
import { parseKeyPattern } from './key-pattern.js';
import { connectRedis } from './redis-connection.js';
import { ContextStats } from './stats.js';

export interface RuntimeStatus {
  language: Language | null;
  /** `module.function` once loaded. */
  handler: string | null;
  loaded: boolean;
  /** Input keys that currently have a context. */
  contexts: string[];
  /** ioredis connection status ('ready' when connected). */
  redis: string;
  /** Completed polls, successful or not. */
  polls: number;
}

export interface RuntimeHandle {
  readonly config: RuntimeConfig;
  status(): RuntimeStatus;
  /** Stops polling, kills the handler's process/thread, closes Redis. Safe to call twice. */
  stop(): Promise<void>;
}

interface ContextState {
  inputKey: string;
  outputKey: string;
  /** The last input the handler was given, to call it only when the input changes. */
  lastInput: string | undefined;
  stats: ContextStats;
  /** Writes not yet made (Redis went away); retried before the next call. */
  unwritten: { output?: string; error?: string; stats: boolean };
}

const SCAN_COUNT = 500;

export async function startRuntime(options: RuntimeOptions, logger?: Logger): Promise<RuntimeHandle> {
  const config = resolveRuntimeConfig(options);
  const log = (logger ?? pino({ name: 'imgfleet-runtime', level: process.env.LOG_LEVEL ?? 'info' })).child({
    component: 'function-runtime',
  });
  const keys = parseKeyPattern(config.inputKey, config.outputKey);
  const intervalMs = config.intervalSeconds * 1000;
  const ttlSeconds = config.outputTtlSeconds > 0 ? Math.max(1, Math.round(config.outputTtlSeconds)) : 0;

  const contexts = new Map<string, ContextState>();
  const fn = new FunctionLoader(config, log);
  let moduleError: string | undefined;
  let stopping = false;
  let polls = 0;
  let timer: NodeJS.Timeout | undefined;
  let currentPoll: Promise<void> = Promise.resolve();
  let lastPollError: string | undefined;

  const startFailure = await fn.start(); // throws only when the function file does not exist
  const connection = connectRedis(config.redisUrl, log);
  const redis = connection.client;

  function setKey(target: ChainableCommander | Redis, key: string, value: string) {
    return ttlSeconds > 0 ? target.set(key, value, 'EX', ttlSeconds) : target.set(key, value);
  }

  function errorRecord(kind: ErrorKind, error: string, inputKey: string, detail?: string, stateLost?: boolean): string {
    const record: ErrorRecord = {
      error,
      kind,
      at: new Date().toISOString(),
      input_key: inputKey,
      handler: fn.name,
      ...(detail ? { detail } : {}),
      ...(stateLost ? { state_lost: true } : {}),
    };
    return JSON.stringify(record);
  }

  function noteLoadFailure(failure: LoadFailure): void {
    moduleError = errorRecord(failure.kind, failure.error, config.inputKey, failure.detail);
  }
  if (startFailure) noteLoadFailure(startFailure);

  /** Writes a context's pending output, error and stats in one transaction; keeps them pending if Redis fails. */
  async function flush(ctx: ContextState): Promise<void> {
    const { unwritten } = ctx;
    if (unwritten.output === undefined && unwritten.error === undefined && !unwritten.stats) return;
    const batch = redis.multi();
    if (unwritten.output !== undefined) setKey(batch, ctx.outputKey, unwritten.output);
    if (unwritten.error !== undefined) setKey(batch, `${ctx.outputKey}:error`, unwritten.error);
    if (unwritten.stats) {
      setKey(batch, `${ctx.outputKey}:stats`, JSON.stringify(ctx.stats.toRecord(fn.name, fn.language ?? 'none', fn.mtime)));
    }
    const results = await batch.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction discarded');
    ctx.unwritten = { stats: false };
  }

  function contextFor(inputKey: string): ContextState {
    let ctx = contexts.get(inputKey);
    if (!ctx) {
      const outputKey = keys.outputKeyFor(inputKey);
      ctx = { inputKey, outputKey, lastInput: undefined, stats: new ContextStats(inputKey, outputKey), unwritten: { stats: false } };
      contexts.set(inputKey, ctx);
      if (keys.isGlob) log.info({ input_key: inputKey, output_key: outputKey }, 'new context');
    }
    return ctx;
  }

  async function discoverKeys(): Promise<string[]> {
    if (!keys.isGlob) return [config.inputKey];
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', config.inputKey, 'COUNT', SCAN_COUNT, 'TYPE', 'string');
      cursor = next;
      for (const key of batch) if (!keys.isOwnKey(key)) found.add(key);
    } while (cursor !== '0');
    return [...found].sort();
  }

  async function dropVanished(present: string[]): Promise<void> {
    const keep = new Set(present);
    for (const [key, ctx] of contexts) {
      if (keep.has(key)) continue;
      contexts.delete(key);
      await fn.invoker?.drop(key);
      log.info({ input_key: key, output_key: ctx.outputKey }, 'input key disappeared; context dropped');
    }
  }

  function applyOutcome(ctx: ContextState, outcome: CallOutcome, durationMs: number): void {
    if (outcome.ok) {
      ctx.stats.recordSuccess(durationMs, outcome.output !== null);
      if (outcome.output !== null) ctx.unwritten.output = outcome.output;
      log.debug({ input_key: ctx.inputKey, ms: durationMs, wrote: outcome.output !== null }, 'handler ran');
    } else {
      ctx.stats.recordError(outcome.kind, durationMs);
      ctx.unwritten.error = errorRecord(outcome.kind, outcome.error, ctx.inputKey, outcome.detail, outcome.stateLost);
      log.warn({ input_key: ctx.inputKey, kind: outcome.kind, err: outcome.error, detail: outcome.detail }, 'handler failed');
      if (outcome.stateLost) {
        // One process/thread serves every context, so they all lost their env.
        for (const other of contexts.values()) {
          other.stats.recordStateReset();
          other.unwritten.stats = true;
        }
        log.warn({ contexts: [...contexts.keys()] }, 'handler state (context.env) lost for these contexts');
      }
    }
    ctx.unwritten.stats = true;
  }

  async function invoke(ctx: ContextState, raw: string): Promise<void> {
    const invoker = fn.invoker;
    if (!invoker) return;
    // Recorded before the call: an input that makes the handler fail is not retried every period.
    ctx.lastInput = raw;
    const started = performance.now();
    const outcome = await invoker.call({
      contextId: ctx.inputKey,
      input: raw,
      context: {
        host: config.redisHost,
        port: config.redisPort,
        input_key: ctx.inputKey,
        output_key: ctx.outputKey,
        function_getmtime: fn.mtime,
      },
    });
    if (stopping) return;
    applyOutcome(ctx, outcome, performance.now() - started);
    await flush(ctx);
  }

  async function pollOnce(): Promise<void> {
    const change = await fn.checkForChange();
    if (change === 'reloaded') {
      for (const ctx of contexts.values()) {
        // New code gets to see the current input even if it has not changed.
        ctx.lastInput = undefined;
        ctx.stats.reloads++;
        ctx.unwritten.stats = true;
      }
      moduleError = undefined;
    } else if (change !== 'unchanged') {
      noteLoadFailure(change);
    }

    if (!connection.ready) return;
    if (moduleError !== undefined) {
      await setKey(redis, `${config.outputKey}:error`, moduleError);
      moduleError = undefined;
    }
    for (const ctx of contexts.values()) await flush(ctx);

    const inputKeys = await discoverKeys();
    if (keys.isGlob) await dropVanished(inputKeys);
    if (inputKeys.length === 0 || !fn.invoker) return;

    const values = keys.isGlob ? await redis.mget(...inputKeys) : [await redis.get(config.inputKey)];
    for (let i = 0; i < inputKeys.length && !stopping; i++) {
      const raw = values[i];
      if (raw === null || raw === undefined) continue;
      const ctx = contextFor(inputKeys[i]!);
      if (config.callOnChangeOnly && raw === ctx.lastInput) continue;
      await invoke(ctx, raw);
    }
  }

  async function poll(): Promise<void> {
    const started = Date.now();
    try {
      await pollOnce();
      if (lastPollError !== undefined) log.info('polling recovered');
      lastPollError = undefined;
    } catch (err) {
      const message = errorMessage(err);
      // Once per distinct failure: an outage would otherwise log every period.
      if (message !== lastPollError) log.warn({ err: message }, 'poll failed; will retry next period');
      lastPollError = message;
    } finally {
      polls++;
    }
    if (!stopping) timer = setTimeout(runPoll, Math.max(0, intervalMs - (Date.now() - started)));
  }
  function runPoll(): void {
    currentPoll = poll();
  }

  // Give the connection a moment so the first poll normally finds Redis ready.
  await connection.waitReady(2000);
  log.info(
    {
      input_key: config.inputKey,
      output_key: config.outputKey,
      glob: keys.isGlob,
      interval_s: config.intervalSeconds,
      timeout_s: config.handlerTimeoutSeconds,
      call_on_change_only: config.callOnChangeOnly,
    },
    'function runtime started',
  );
  runPoll();

  let stopped: Promise<void> | undefined;
  return {
    config,
    status: () => ({
      language: fn.language,
      handler: fn.invoker ? fn.name : null,
      loaded: fn.invoker !== undefined,
      contexts: [...contexts.keys()],
      redis: redis.status,
      polls,
    }),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearTimeout(timer);
        // Killing the handler's side first frees a poll stuck in a hung handler.
        await fn.close();
        await currentPoll.catch(() => undefined);
        clearTimeout(timer);
        await connection.close();
        log.info('function runtime stopped');
      })();
      return stopped;
    },
  };
}
