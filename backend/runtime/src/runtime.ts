/**
 * Starting and stopping the function runtime: the health/metrics server,
 * the requirements, the function, Redis and the poll loop (poll-loop.ts),
 * wired together. startRuntime resolves once the first poll is under way.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import { resolveRuntimeConfig } from './config.js';
import type { RuntimeConfig, RuntimeOptions } from './config.js';
import { FunctionLoader } from './function-loader.js';
import type { HostOptionsFor } from './function-loader.js';
import type { Language } from './function-source.js';
import { startHealthServer } from './health-server.js';
import type { HealthServer, HealthState } from './health-server.js';
import { parseKeyPattern } from './key-pattern.js';
import { PollLoop } from './poll-loop.js';
import { connectRedis } from './redis-connection.js';
import type { RuntimeRedis } from './redis-connection.js';
import { installRequirements } from './requirements.js';
import { RuntimeMetrics } from './runtime-metrics.js';

export interface RuntimeStatus {
  language: Language | null;
  /** `module.function` once loaded. */
  handler: string | null;
  loaded: boolean;
  /** Input keys that currently have a context. */
  contexts: string[];
  /** Contexts whose handler call is still running. */
  busy: string[];
  /** ioredis connection status ('ready' when connected). */
  redis: string;
  /** Completed polls, successful or not. */
  polls: number;
  /** The port /healthz and /metrics listen on. */
  healthPort: number;
}

export interface RuntimeHandle {
  readonly config: RuntimeConfig;
  status(): RuntimeStatus;
  /** Stops polling, kills the handlers' processes, closes Redis and the health server. Safe to call twice. */
  stop(): Promise<void>;
}

function defaultLogger(): Logger {
  return pino({ name: 'imgfleet-runtime', level: process.env.LOG_LEVEL ?? 'info' });
}

function hostOptionsFor(config: RuntimeConfig, metrics: RuntimeMetrics, log: Logger): HostOptionsFor {
  return (contextId) => ({
    timeoutMs: config.handlerTimeoutSeconds * 1000,
    outputMaxBytes: config.handlerOutputMaxBytes,
    logger: contextId === undefined ? log.child({ probe: true }) : log.child({ input_key: contextId }),
    onOutputDropped: (bytes) => metrics.recordOutputDropped(contextId ?? '(probe)', bytes),
  });
}

/** A poll loop that has not completed a poll for this long is stalled: /healthz says 503 and Kubernetes restarts it. */
function stallLimitMs(config: RuntimeConfig): number {
  return Math.max(30_000, 3 * config.intervalSeconds * 1000);
}

function healthState(config: RuntimeConfig, loop: () => PollLoop | undefined, status: () => RuntimeStatus): HealthState {
  return {
    live: () => {
      const running = loop();
      // Still starting (installing requirements, bounded by REQUIREMENTS_TIMEOUT): alive.
      if (!running) return true;
      const last = running.lastPollAt ?? running.startedAt;
      return Date.now() - last < stallLimitMs(config);
    },
    ready: () => status().redis === 'ready' && status().loaded,
    status: () => ({ ...status() }),
  };
}

export async function startRuntime(options: RuntimeOptions, logger?: Logger): Promise<RuntimeHandle> {
  const config = resolveRuntimeConfig(options);
  const log = (logger ?? defaultLogger()).child({ component: 'function-runtime' });
  if (config.outputKey === undefined) {
    log.warn('REDIS_OUTPUT_KEY is not set: the handler runs, but nothing is written to Redis');
  }
  const metrics = new RuntimeMetrics();
  let loop: PollLoop | undefined;
  let fn: FunctionLoader | undefined;
  let connection: RuntimeRedis | undefined;
  const status = (): RuntimeStatus => ({
    language: fn?.language ?? null,
    handler: fn?.loaded ? fn.name : null,
    loaded: fn?.loaded ?? false,
    contexts: [...(loop?.contexts.keys() ?? [])],
    busy: [...(loop?.contexts.values() ?? [])].filter((c) => c.busy).map((c) => c.inputKey),
    redis: connection?.client.status ?? 'none',
    polls: loop?.polls ?? 0,
    healthPort: health.port,
  });
  // First, so the probes answer while requirements install.
  const health: HealthServer = await startHealthServer(
    config.healthPort,
    healthState(config, () => loop, status),
    metrics,
    log,
  );

  try {
    const requirements = await installRequirements(config, log);
    fn = new FunctionLoader(config, log, hostOptionsFor(config, metrics, log), requirements.pythonPath);
    const startFailure = await fn.start(); // throws only when the function file does not exist
    metrics.loaded.set(fn.loaded ? 1 : 0);
    connection = connectRedis(config.redisUrl, log);
    loop = new PollLoop(config, fn, connection, metrics, log);
    if (requirements.error) loop.noteFunctionError('requirements', requirements.error, requirements.detail);
    if (startFailure) loop.noteFunctionError(startFailure.kind, startFailure.error, startFailure.detail);
  } catch (err) {
    await fn?.close();
    await health.close();
    throw err;
  }
  // Give the connection a moment so the first poll normally finds Redis ready.
  await connection.waitReady(2000);
  const keys = parseKeyPattern(config.inputKey, config.outputKey, config.metricsKeyPrefix);
  log.info(
    {
      input_key: config.metricsKeyPrefix + config.inputKey,
      output_key: keys.outputKey ?? null,
      glob: keys.isGlob,
      handler_memory_mb: config.handlerMemoryMb,
      interval_s: config.intervalSeconds,
      timeout_s: config.handlerTimeoutSeconds,
      call_on_change_only: config.callOnChangeOnly,
      health_port: health.port,
    },
    'function runtime started',
  );
  loop.start();
  return runtimeHandle(config, status, { loop, fn, connection, health, log });
}

function runtimeHandle(
  config: RuntimeConfig,
  status: () => RuntimeStatus,
  parts: { loop: PollLoop; fn: FunctionLoader; connection: RuntimeRedis; health: HealthServer; log: Logger },
): RuntimeHandle {
  let stopped: Promise<void> | undefined;
  return {
    config,
    status,
    stop() {
      stopped ??= (async () => {
        const { loop, fn, connection, health, log } = parts;
        const loopStopped = loop.stop();
        // Killing the handlers' side first frees calls stuck in a hung handler.
        await fn.close();
        await loopStopped;
        await connection.close();
        await health.close();
        log.info('function runtime stopped');
      })();
      return stopped;
    },
  };
}
