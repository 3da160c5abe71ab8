/**
 * The metrics hub: every period it takes this pod's snapshot, writes it to
 * `<prefix><keyPrefix>:<pod>` (expiring after three periods) and publishes it
 * on `<prefix><channel>`; it listens on the channel too, so every pod's hub
 * knows every pod's latest snapshot and can serve the whole cluster's
 * metrics. `prefix` is METRICS_KEY_PREFIX: two installations sharing a Redis
 * never see each other's keys, channel or function output.
 *
 * Every snapshot also goes into the history (about an hour, see
 * history-ring.ts): with Redis, appended to the capped stream
 * `<prefix><keyPrefix>-history:<pod>` and read back on every (re)connect;
 * without, kept in-process only.
 *
 * Without Redis, the same snapshots flow in-process (the embedded default).
 *
 * Derived figures: read from the function runtime's output
 * (`<prefix><functionOutputKey>:<pod>`) when that key is configured;
 * otherwise computed here with the bundled default handler, so the metrics
 * window has data whether or not the runtime is deployed.
 *
 * Health (health.ts): Redis reachable or not, pods gone silent without a
 * goodbye (a stopping hub says goodbye), the function's errors.
 *
 * The image pipeline never waits on anything here: the hub calls the
 * pipeline's `appStats` callback, never the other way round, and Redis work
 * is fire-and-forget (see redis-link.ts).
 */
import { pino, type Logger } from 'pino';
import type { MetricsHealth, MetricsHistory, MetricsOverview, MetricsSource } from '../contract/metrics.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { HealthReporter, redisHealthOf } from './health.js';
import { HISTORY_SECONDS } from './history-ring.js';
import { settingsOf, type HubSettings } from './hub-settings.js';
import { InProcessDerived } from './in-process-derived.js';
import { MetricsListeners, type MetricsListener } from './listeners.js';
import type { PodMetrics } from './pod-view.js';
import { RedisSync } from './redis-sync.js';
import { RuntimeDerivedReader } from './runtime-derived.js';
import { createSnapshotCollector, type SnapshotCollector } from './snapshot.js';
import type { AppStats } from './snapshot-contract.js';
import { Ticker } from './ticker.js';

export type { MetricsEvent, MetricsListener } from './listeners.js';
export type { MetricsHistory, MetricsOverview, MetricsSource };

export interface MetricsHubOptions {
  podName: string;
  /** Redis to publish to and listen on; undefined keeps everything in-process. */
  redisUrl?: string | undefined;
  /** Seconds between snapshots (METRICS_PERIOD). */
  periodSeconds: number;
  appStats: () => AppStats | Promise<AppStats>;
  /** METRICS_KEY_PREFIX: prepended verbatim to every key and channel below (default none: the course's names). */
  prefix?: string | undefined;
  /** Snapshot keys are `<keyPrefix>:<pod>`, history streams `<keyPrefix>-history:<pod>`. Default `metrics`. */
  keyPrefix?: string | undefined;
  /** Pub/sub channel for snapshots. Default `metrics`. */
  channel?: string | undefined;
  /** Where the function runtime writes derived figures, per pod at `<functionOutputKey>:<pod>`. */
  functionOutputKey?: string | undefined;
  logger?: Logger | undefined;
  /** procfs/sysfs/cgroup mount points (fixtures in tests). */
  procRoot?: string | undefined;
  sysRoot?: string | undefined;
  cgroupRoot?: string | undefined;
  /** The snapshot's `node` (NODE_NAME); default derived from the kernel's boot id. */
  nodeName?: string | undefined;
  /** Forces the interface behind `net_io_counters_eth0-*`. */
  networkInterface?: string | undefined;
}

export interface MetricsHubStatus {
  pod: string;
  periodSeconds: number;
  source: MetricsSource;
  /** Whether Redis is connected right now; null in in-process mode. */
  redisConnected: boolean | null;
  /** The interface the network counters come from, once the first snapshot is taken. */
  networkInterface: string | null;
}

export interface MetricsHub {
  readonly podName: string;
  readonly periodSeconds: number;
  readonly source: MetricsSource;
  /** Starts taking and publishing snapshots. Returns at once; never throws for Redis. */
  start(): void;
  /** Stops the timer, says goodbye (the pod's key goes at once) and closes Redis. */
  stop(): Promise<void>;
  /** Every live pod's latest snapshot and derived figures, sorted by pod name. */
  latest(): PodMetrics[];
  /** Every pod's samples over the last `spanSeconds` (at most HISTORY_SECONDS), stopped pods marked gone. */
  history(spanSeconds: number): MetricsHistory;
  overview(spanSeconds: number): MetricsOverview;
  /** Whether the sources behind the figures can be trusted right now. */
  health(): MetricsHealth;
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: MetricsListener): () => void;
  status(): MetricsHubStatus;
}

function collectorFor(options: MetricsHubOptions, logger: Logger, periodMs: number): SnapshotCollector {
  return createSnapshotCollector({
    podName: options.podName,
    appStats: options.appStats,
    logger,
    procRoot: options.procRoot,
    sysRoot: options.sysRoot,
    cgroupRoot: options.cgroupRoot,
    nodeName: options.nodeName,
    networkInterface: options.networkInterface,
    // An appStats call may use at most half a period, so ticks never overlap.
    appStatsTimeoutMs: Math.max(50, periodMs / 2),
  });
}

/** Everything a hub is made of, wired together; createMetricsHub adds the lifecycle. */
interface HubParts {
  settings: HubSettings;
  logger: Logger;
  listeners: MetricsListeners;
  cluster: ClusterMetrics;
  collector: SnapshotCollector;
  health: HealthReporter;
  /** Set by start() when Redis is configured. */
  redis: RedisSync | undefined;
  refreshDerived: () => void;
}

function hubParts(options: MetricsHubOptions): HubParts {
  const settings = settingsOf(options);
  const logger = options.logger ?? pino({ level: 'silent' });
  const listeners = new MetricsListeners(logger);
  const outputKey = settings.functionOutputKey;
  const localDerived = outputKey === undefined ? new InProcessDerived(settings.keyPrefix) : undefined;
  const cluster = new ClusterMetrics({
    lifetimeMs: settings.lifetimeMs,
    historyCapacity: settings.historyLength,
    historyMs: settings.historyMs,
    localDerived,
    listeners,
  });
  // The reader reports new function errors at once; the reporter reads them back (hence the late binding).
  let health: HealthReporter | undefined;
  const runtimeDerived = outputKey === undefined ? undefined : new RuntimeDerivedReader(outputKey, cluster, logger, () => health?.check());
  const parts: HubParts = {
    settings,
    logger,
    listeners,
    cluster,
    collector: collectorFor(options, logger, settings.periodMs),
    redis: undefined,
    refreshDerived: () => {
      if (parts.redis) runtimeDerived?.refresh(parts.redis.link);
    },
    health: (health = new HealthReporter(
      {
        redis: () => redisHealthOf(options.redisUrl !== undefined, parts.redis?.link.state),
        stalePods: () => cluster.stalePods(settings.staleAfterMs, settings.staleNoticeMs, options.podName),
        functionSource: localDerived ? 'in-process' : 'runtime',
        functionErrors: () => (localDerived ?? runtimeDerived)?.errors() ?? [],
      },
      listeners,
    )),
  };
  return parts;
}

export function createMetricsHub(options: MetricsHubOptions): MetricsHub {
  const parts = hubParts(options);
  const { settings, logger, cluster, collector, health } = parts;
  const { source } = settings;
  let loggedStart = false;
  const ticker = new Ticker({
    periodMs: settings.periodMs,
    logger,
    prime: () => collector.prime(),
    tick: async () => {
      const snapshot = await collector.collect();
      if (ticker.isStopped) return;
      if (!loggedStart) {
        loggedStart = true;
        logger.info(
          { pod: options.podName, periodSeconds: options.periodSeconds, source, networkInterface: collector.networkInterface },
          'metrics: publishing snapshots',
        );
      }
      cluster.accept(snapshot);
      parts.redis?.publish(snapshot);
      parts.refreshDerived();
      cluster.expire(settings.staleNoticeMs);
      health.check();
    },
  });

  const history = (spanSeconds: number): MetricsHistory => {
    const span = Math.min(HISTORY_SECONDS, Math.max(0, spanSeconds));
    return { spanSeconds: span, serverTime: new Date().toISOString(), pods: cluster.history(span * 1000) };
  };
  const status = (): MetricsHubStatus => ({
    pod: options.podName,
    periodSeconds: options.periodSeconds,
    source,
    redisConnected: parts.redis ? parts.redis.link.connected : null,
    networkInterface: collector.networkInterface ?? null,
  });

  return {
    podName: options.podName,
    periodSeconds: options.periodSeconds,
    source,
    start() {
      if (options.redisUrl !== undefined && !parts.redis && !ticker.isStopped) {
        const hooks = { afterResync: parts.refreshDerived, onStateChange: () => health.check() };
        parts.redis = new RedisSync(options.redisUrl, settings, cluster, hooks, logger);
      }
      ticker.start();
    },
    async stop() {
      if (ticker.isStopped) return;
      await ticker.stop();
      await parts.redis?.goodbye(options.podName);
      parts.redis?.link.stop();
    },
    latest: () => cluster.latest(),
    history,
    overview(spanSeconds) {
      const { pod, periodSeconds, redisConnected } = status();
      const { spanSeconds: span, serverTime, pods: lines } = history(spanSeconds);
      return {
        pods: cluster.latest(),
        periodSeconds,
        source,
        pod,
        redisConnected,
        keyPrefix: settings.prefix,
        spanSeconds: span,
        serverTime,
        history: lines,
        health: health.current(),
      };
    },
    health: () => health.current(),
    subscribe: (listener) => parts.listeners.add(listener),
    status,
  };
}
