/**
 * The metrics hub: every period it takes this pod's snapshot, writes it to
 * `<keyPrefix>:<pod>` (expiring after three periods) and publishes it on
 * `<channel>`; it listens on the channel too, so every pod's hub knows every
 * pod's latest snapshot and can serve the whole cluster's metrics.
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
import { stringifyWithFloats } from './float-json.js';
import { InProcessDerived, type DerivedFigures } from './in-process-derived.js';
import { PodView, type PodMetrics } from './pod-view.js';
import { RedisLink } from './redis-link.js';
import { createSnapshotCollector } from './snapshot.js';
import { parseSnapshotText, type AppStats, type Snapshot } from './snapshot-contract.js';

export type MetricsSource = 'redis' | 'in-process';

/** What listeners receive: a new snapshot, changed derived figures, or a pod gone silent. */
export type MetricsEvent =
  | { type: 'snapshot'; metrics: PodMetrics }
  | { type: 'derived'; metrics: PodMetrics }
  | { type: 'expired'; pod: string };

export type MetricsListener = (event: MetricsEvent) => void;

export interface MetricsHubOptions {
  podName: string;
  /** Redis to publish to and listen on; undefined keeps everything in-process. */
  redisUrl?: string | undefined;
  /** Seconds between snapshots (METRICS_PERIOD). */
  periodSeconds: number;
  appStats: () => AppStats | Promise<AppStats>;
  /** Snapshot keys are `<keyPrefix>:<pod>`. Default `metrics`; tests use a unique prefix. */
  keyPrefix?: string | undefined;
  /** Pub/sub channel for snapshots. Default `metrics`. */
  channel?: string | undefined;
  /** Where the function runtime writes derived figures, per pod at `<functionOutputKey>:<pod>`. */
  functionOutputKey?: string | undefined;
  logger?: Logger | undefined;
  /** procfs/sysfs mount points (fixtures in tests). */
  procRoot?: string | undefined;
  sysRoot?: string | undefined;
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
  /** Stops the timer and closes Redis. The pod's key then expires within three periods. */
  stop(): Promise<void>;
  /** Every live pod's latest snapshot and derived figures, sorted by pod name. */
  latest(): PodMetrics[];
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: MetricsListener): () => void;
  status(): MetricsHubStatus;
}

/** Keys and snapshots live for three periods: one missed publish does not drop a pod. */
const LIFETIME_PERIODS = 3;

export function createMetricsHub(options: MetricsHubOptions): MetricsHub {
  if (!(options.periodSeconds > 0)) throw new RangeError('periodSeconds must be positive');
  const logger = options.logger ?? pino({ level: 'silent' });
  const periodMs = options.periodSeconds * 1000;
  const lifetimeMs = LIFETIME_PERIODS * periodMs;
  const keyPrefix = options.keyPrefix ?? 'metrics';
  const channel = options.channel ?? 'metrics';
  const functionOutputKey = options.functionOutputKey;
  const source: MetricsSource = options.redisUrl === undefined ? 'in-process' : 'redis';

  const view = new PodView(lifetimeMs);
  const listeners = new Set<MetricsListener>();
  const localDerived = functionOutputKey === undefined ? new InProcessDerived(keyPrefix) : undefined;
  const collector = createSnapshotCollector({
    podName: options.podName,
    appStats: options.appStats,
    logger,
    procRoot: options.procRoot,
    sysRoot: options.sysRoot,
    networkInterface: options.networkInterface,
    // An appStats call may use at most half a period, so ticks never overlap.
    appStatsTimeoutMs: Math.max(50, periodMs / 2),
  });

  let link: RedisLink | undefined;
  let started = false;
  let stopped = false;
  let firstTimer: NodeJS.Timeout | undefined;
  let interval: NodeJS.Timeout | undefined;
  let currentTick: Promise<void> | undefined;
  let derivedInFlight = false;
  let loggedInterface = false;

  function emit(event: MetricsEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        logger.warn({ err }, 'metrics: a listener threw');
      }
    }
  }

  /** Puts a snapshot (ours or another pod's) into the view and tells listeners. */
  function accept(snapshot: Snapshot): void {
    const stored = view.putSnapshot(snapshot);
    if (!stored) return;
    if (localDerived) {
      const withDerived = view.putDerived(snapshot.pod, localDerived.compute(snapshot));
      emit({ type: 'snapshot', metrics: withDerived ?? stored });
      return;
    }
    emit({ type: 'snapshot', metrics: stored });
  }

  function expireDeadPods(): void {
    for (const pod of view.expire()) {
      localDerived?.forget(pod);
      emit({ type: 'expired', pod });
    }
  }

  function parseDerived(text: string | null): DerivedFigures | null {
    if (text === null) return null;
    try {
      const value: unknown = JSON.parse(text);
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as DerivedFigures) : null;
    } catch {
      return null;
    }
  }

  /** Reads the runtime's output for every known pod (one MGET), in the background. */
  function refreshRuntimeDerived(): void {
    if (!link || functionOutputKey === undefined || derivedInFlight || !link.connected) return;
    const pods = view.pods();
    if (pods.length === 0) return;
    derivedInFlight = true;
    link
      .mget(pods.map((pod) => `${functionOutputKey}:${pod}`))
      .then((texts) => {
        texts.forEach((text, i) => {
          const changed = view.putDerived(pods[i]!, parseDerived(text));
          if (changed) emit({ type: 'derived', metrics: changed });
        });
      })
      .catch((err: unknown) => logger.debug({ err }, 'metrics: reading derived figures failed'))
      .finally(() => {
        derivedInFlight = false;
      });
  }

  /** After (re)connecting: load every pod's key, so we need not wait a period to see the cluster. */
  function resync(): void {
    if (!link) return;
    link
      .readAll(keyPrefix)
      .then((entries) => {
        for (const { key, text } of entries) {
          const snapshot = parseSnapshotText(text, key.slice(keyPrefix.length + 1));
          if (snapshot) accept(snapshot);
        }
        refreshRuntimeDerived();
      })
      .catch((err: unknown) => logger.debug({ err }, 'metrics: loading existing snapshots failed'));
  }

  async function tick(): Promise<void> {
    const snapshot = await collector.collect();
    if (stopped) return;
    if (!loggedInterface) {
      loggedInterface = true;
      logger.info(
        { pod: options.podName, periodSeconds: options.periodSeconds, source, networkInterface: collector.networkInterface },
        'metrics: publishing snapshots',
      );
    }
    accept(snapshot);
    link?.publish(`${keyPrefix}:${options.podName}`, stringifyWithFloats(snapshot), lifetimeMs);
    refreshRuntimeDerived();
    expireDeadPods();
  }

  function runTick(): void {
    // A tick still running (very slow /proc or appStats) is not doubled up.
    if (currentTick || stopped) return;
    currentTick = tick()
      .catch((err: unknown) => logger.warn({ err }, 'metrics: taking a snapshot failed'))
      .finally(() => {
        currentTick = undefined;
      });
  }

  return {
    podName: options.podName,
    periodSeconds: options.periodSeconds,
    source,

    start() {
      if (started) return;
      started = true;
      if (options.redisUrl !== undefined) {
        link = new RedisLink({
          url: options.redisUrl,
          channel,
          commandTimeoutMs: Math.max(1000, periodMs),
          logger,
          onMessage: (text) => {
            const snapshot = parseSnapshotText(text);
            if (snapshot) accept(snapshot);
          },
          onReady: resync,
        });
      }
      const begin = (): void => {
        if (stopped) return;
        // The first snapshot comes sooner than a full period (its figures
        // cover the shorter interval), so a fresh pod shows up quickly.
        firstTimer = setTimeout(() => {
          runTick();
          interval = setInterval(runTick, periodMs);
          interval.unref();
        }, Math.min(periodMs, 1000));
        // Timers alone must not keep a process alive that is otherwise done.
        firstTimer.unref();
      };
      collector.prime().then(begin, (err: unknown) => {
        logger.warn({ err }, 'metrics: first reading failed');
        begin();
      });
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(firstTimer);
      clearInterval(interval);
      await currentTick;
      link?.stop();
    },

    latest() {
      return view.list();
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    status() {
      return {
        pod: options.podName,
        periodSeconds: options.periodSeconds,
        source,
        redisConnected: link ? link.connected : null,
        networkInterface: collector.networkInterface ?? null,
      };
    },
  };
}
