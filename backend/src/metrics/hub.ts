/**
 * The metrics hub: every period it takes this pod's snapshot, writes it to
 * `<keyPrefix>:<pod>` (expiring after three periods) and publishes it on
 * `<channel>`; it listens on the channel too, so every pod's hub knows every
 * pod's latest snapshot and can serve the whole cluster's metrics.
 *
 * Every snapshot also goes into the history (about an hour, see
 * history-ring.ts): with Redis, appended to the capped stream
 * `<keyPrefix>-history:<pod>` and read back on every (re)connect; without,
 * kept in-process only.
 *
 * Without Redis, the same snapshots flow in-process (the embedded default).
 *
 * Derived figures: read from the function runtime's output
 * (`<functionOutputKey>:<pod>`) when that key is configured; otherwise
 * computed here with the bundled default handler, so the metrics window has
 * data whether or not the runtime is deployed.
 *
 * The image pipeline never waits on anything here: the hub calls the
 * pipeline's `appStats` callback, never the other way round, and Redis work
 * is fire-and-forget (see redis-link.ts).
 */
import { pino, type Logger } from 'pino';
import { ClusterMetrics } from './cluster-metrics.js';
import { HISTORY_SECONDS, type PodHistory } from './history-ring.js';
import { settingsOf } from './hub-settings.js';
import { InProcessDerived } from './in-process-derived.js';
import { MetricsListeners, type MetricsListener } from './listeners.js';
import type { PodMetrics } from './pod-view.js';
import { RedisSync } from './redis-sync.js';
import { RuntimeDerivedReader } from './runtime-derived.js';
import { createSnapshotCollector, type SnapshotCollector } from './snapshot.js';
import type { AppStats } from './snapshot-contract.js';
import { Ticker } from './ticker.js';

export type { MetricsEvent, MetricsListener } from './listeners.js';

export type MetricsSource = 'redis' | 'in-process';

export interface MetricsHubOptions {
  podName: string;
  /** Redis to publish to and listen on; undefined keeps everything in-process. */
  redisUrl?: string | undefined;
  /** Seconds between snapshots (METRICS_PERIOD). */
  periodSeconds: number;
  appStats: () => AppStats | Promise<AppStats>;
  /** Snapshot keys are `<keyPrefix>:<pod>`, history streams `<keyPrefix>-history:<pod>`. Default `metrics`; tests use a unique prefix. */
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

/** Every pod's line over the last `spanSeconds`, as the server saw it at `serverTime`. */
export interface MetricsHistory {
  spanSeconds: number;
  /** The answering pod's clock (ISO 8601), so a client can place `receivedAt` on its own time axis. */
  serverTime: string;
  pods: PodHistory[];
}

/** The body of GET /api/v1/metrics: the live pods, then their history. */
export interface MetricsOverview {
  pods: PodMetrics[];
  periodSeconds: number;
  source: MetricsSource;
  /** The pod that answered. */
  pod: string;
  /** Whether that pod is connected to Redis right now; null in in-process mode. */
  redisConnected: boolean | null;
  /** The history's span, the answering pod's clock and every pod's line (see MetricsHistory). */
  spanSeconds: number;
  serverTime: string;
  history: PodHistory[];
}

export interface MetricsHub {
  readonly podName: string;
  readonly periodSeconds: number;
  readonly source: MetricsSource;
  /** Starts taking and publishing snapshots. Returns at once; never throws for Redis. */
  start(): void;
  /** Stops the timer and closes Redis. The pod's key then expires within three periods. */
  stop(): Promise<void>;
  /** Every live pod's latest snapshot and derived figures, sorted by pod name. */
  latest(): PodMetrics[];
  /** Every pod's samples over the last `spanSeconds` (at most HISTORY_SECONDS), stopped pods marked gone. */
  history(spanSeconds: number): MetricsHistory;
  overview(spanSeconds: number): MetricsOverview;
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

export function createMetricsHub(options: MetricsHubOptions): MetricsHub {
  const settings = settingsOf(options);
  const logger = options.logger ?? pino({ level: 'silent' });
  const { source, periodMs } = settings;
  const listeners = new MetricsListeners(logger);
  const functionOutputKey = options.functionOutputKey;
  const cluster = new ClusterMetrics({
    lifetimeMs: settings.lifetimeMs,
    historyCapacity: settings.historyLength,
    historyMs: settings.historyMs,
    localDerived: functionOutputKey === undefined ? new InProcessDerived(settings.keyPrefix) : undefined,
    listeners,
  });
  const runtimeDerived = functionOutputKey === undefined ? undefined : new RuntimeDerivedReader(functionOutputKey, cluster, logger);
  const collector = collectorFor(options, logger, periodMs);
  let redis: RedisSync | undefined;
  const refreshDerived = (): void => {
    if (redis) runtimeDerived?.refresh(redis.link);
  };

  let loggedStart = false;
  const ticker = new Ticker({
    periodMs,
    logger,
    prime: () => collector.prime(),
    tick: async () => {
      const snapshot = await collector.collect();
      if (ticker.isStopped) return;
      if (!loggedStart) {
        loggedStart = true;
        logger.info({ pod: options.podName, periodSeconds: options.periodSeconds, source, networkInterface: collector.networkInterface }, 'metrics: publishing snapshots');
      }
      cluster.accept(snapshot);
      redis?.publish(snapshot);
      refreshDerived();
      cluster.expire();
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
    redisConnected: redis ? redis.link.connected : null,
    networkInterface: collector.networkInterface ?? null,
  });

  return {
    podName: options.podName,
    periodSeconds: options.periodSeconds,
    source,
    start() {
      if (options.redisUrl !== undefined && !redis && !ticker.isStopped) {
        redis = new RedisSync(options.redisUrl, settings, cluster, refreshDerived, logger);
      }
      ticker.start();
    },
    async stop() {
      if (ticker.isStopped) return;
      await ticker.stop();
      redis?.link.stop();
    },
    latest: () => cluster.latest(),
    history,
    overview(spanSeconds) {
      const { pod, periodSeconds, redisConnected } = status();
      const { spanSeconds: span, serverTime, pods: lines } = history(spanSeconds);
      return { pods: cluster.latest(), periodSeconds, source, pod, redisConnected, spanSeconds: span, serverTime, history: lines };
    },
    subscribe: (listener) => listeners.add(listener),
    status,
  };
}
