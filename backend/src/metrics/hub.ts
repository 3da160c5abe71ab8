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
import { stringifyWithFloats } from './float-json.js';
import { historyCapacity, HISTORY_SECONDS, type PodHistory } from './history-ring.js';
import { InProcessDerived } from './in-process-derived.js';
import { MetricsListeners, type MetricsEvent, type MetricsListener } from './listeners.js';
import type { PodMetrics } from './pod-view.js';
import { RedisLink, type HistoryEntry } from './redis-link.js';
import { RuntimeDerivedReader, parseDerived } from './runtime-derived.js';
import { createSnapshotCollector, type SnapshotCollector } from './snapshot.js';
import { parseSnapshotText, type AppStats, type Snapshot } from './snapshot-contract.js';
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

/** Keys and snapshots live for three periods: one missed publish does not drop a pod. */
const LIFETIME_PERIODS = 3;

/** The hub's fixed figures, derived once from its options. */
interface HubSettings {
  periodMs: number;
  lifetimeMs: number;
  historyMs: number;
  historyLength: number;
  keyPrefix: string;
  historyPrefix: string;
  channel: string;
  source: MetricsSource;
}

function settingsOf(options: MetricsHubOptions): HubSettings {
  if (!(options.periodSeconds > 0)) throw new RangeError('periodSeconds must be positive');
  const periodMs = options.periodSeconds * 1000;
  const keyPrefix = options.keyPrefix ?? 'metrics';
  return {
    periodMs,
    lifetimeMs: LIFETIME_PERIODS * periodMs,
    historyMs: HISTORY_SECONDS * 1000,
    historyLength: historyCapacity(options.periodSeconds),
    keyPrefix,
    historyPrefix: `${keyPrefix}-history`,
    channel: options.channel ?? 'metrics',
    source: options.redisUrl === undefined ? 'in-process' : 'redis',
  };
}

/** A history stream's entries as samples for the ring (entries that are not snapshots are skipped). */
function* samplesOf(entries: HistoryEntry[], historyPrefix: string) {
  for (const entry of entries) {
    const text = entry.fields.get('snapshot');
    const snapshot = text === undefined ? null : parseSnapshotText(text, entry.key.slice(historyPrefix.length + 1));
    if (snapshot) yield { snapshot, derived: parseDerived(entry.fields.get('derived') || null), atMs: entry.atMs };
  }
}

/**
 * Redis side of the hub: publishing our snapshots (key, channel, history
 * stream) and, on every (re)connect, reading back what other pods published.
 */
class RedisSide {
  readonly link: RedisLink;

  constructor(
    url: string,
    private readonly settings: HubSettings,
    private readonly cluster: ClusterMetrics,
    private readonly afterResync: () => void,
    private readonly logger: Logger,
  ) {
    this.link = new RedisLink({
      url,
      channel: settings.channel,
      commandTimeoutMs: Math.max(1000, settings.periodMs),
      logger,
      onMessage: (text) => {
        const snapshot = parseSnapshotText(text);
        if (snapshot) cluster.accept(snapshot);
      },
      onReady: () => this.resync(),
    });
  }

  publish(snapshot: Snapshot): void {
    const { keyPrefix, historyPrefix, lifetimeMs, historyMs, historyLength } = this.settings;
    const derived = this.cluster.derivedOf(snapshot.pod);
    this.link.publish(`${keyPrefix}:${snapshot.pod}`, stringifyWithFloats(snapshot), lifetimeMs, {
      key: `${historyPrefix}:${snapshot.pod}`,
      maxLen: historyLength,
      ttlMs: historyMs + lifetimeMs,
      derivedText: derived === null ? '' : stringifyWithFloats(derived),
    });
  }

  /** Loads every pod's key and history, so we need not wait a period (or an hour) to see the cluster. */
  private resync(): void {
    const { keyPrefix, historyPrefix, historyMs } = this.settings;
    this.link
      .readStreams(historyPrefix, Date.now() - historyMs)
      .then((entries) => this.cluster.mergeHistory(samplesOf(entries, historyPrefix)))
      .catch((err: unknown) => this.logger.warn({ err }, 'metrics: loading the history from Redis failed'));
    this.link
      .readAll(keyPrefix)
      .then((entries) => {
        for (const { key, text } of entries) {
          const snapshot = parseSnapshotText(text, key.slice(keyPrefix.length + 1));
          if (snapshot) this.cluster.accept(snapshot);
        }
        this.afterResync();
      })
      .catch((err: unknown) => this.logger.debug({ err }, 'metrics: loading existing snapshots failed'));
  }
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
  let redis: RedisSide | undefined;
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
        redis = new RedisSide(options.redisUrl, settings, cluster, refreshDerived, logger);
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
