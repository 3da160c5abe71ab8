/**
 * The hub's Redis side: publishing this pod's snapshots (key, channel,
 * history stream), its goodbye when it stops, and, on every (re)connect,
 * reading back what the other pods published, their history included.
 */
import type { Logger } from 'pino';
import type { ClusterMetrics } from './cluster-metrics.js';
import { stringifyWithFloats } from './float-json.js';
import type { HubSettings } from './hub-settings.js';
import { RedisLink, type HistoryEntry } from './redis-link.js';
import { parseDerived } from './runtime-derived.js';
import { parseSnapshotText, type Snapshot } from './snapshot-contract.js';

/** A history stream's entries as samples for the ring (entries that are not snapshots are skipped). */
function* samplesOf(entries: HistoryEntry[], historyPrefix: string) {
  for (const entry of entries) {
    const text = entry.fields.get('snapshot');
    const snapshot = text === undefined ? null : parseSnapshotText(text, entry.key.slice(historyPrefix.length + 1));
    if (snapshot) yield { snapshot, derived: parseDerived(entry.fields.get('derived') || null), atMs: entry.atMs };
  }
}

/**
 * The message a stopping pod publishes on the channel. It has no
 * `timestamp`, so a backend that does not know it ignores it as a
 * non-snapshot (parseSnapshotText).
 */
interface Goodbye {
  pod: string;
  event: 'stopped';
}

function parseGoodbye(text: string): Goodbye | null {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') return null;
    const { pod, event, timestamp } = value as Record<string, unknown>;
    return typeof pod === 'string' && event === 'stopped' && timestamp === undefined ? { pod, event } : null;
  } catch {
    return null;
  }
}

export class RedisSync {
  readonly link: RedisLink;

  constructor(
    url: string,
    private readonly settings: HubSettings,
    private readonly cluster: ClusterMetrics,
    hooks: { afterResync: () => void; onStateChange: () => void },
    private readonly logger: Logger,
  ) {
    this.link = new RedisLink({
      url,
      channel: settings.channel,
      commandTimeoutMs: Math.max(1000, settings.periodMs),
      logger,
      onMessage: (text) => {
        const snapshot = parseSnapshotText(text);
        if (snapshot) {
          cluster.accept(snapshot);
          return;
        }
        const goodbye = parseGoodbye(text);
        if (goodbye) cluster.leave(goodbye.pod);
      },
      onReady: () => this.resync(hooks.afterResync),
      onStateChange: hooks.onStateChange,
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

  /** Removes this pod's key and tells the others it stopped (its history stream stays for the hour). */
  goodbye(pod: string): Promise<void> {
    const message: Goodbye = { pod, event: 'stopped' };
    return this.link.goodbye(`${this.settings.keyPrefix}:${pod}`, JSON.stringify(message));
  }

  /** Loads every pod's key and history, so we need not wait a period (or an hour) to see the cluster. */
  private resync(afterResync: () => void): void {
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
        afterResync();
      })
      .catch((err: unknown) => this.logger.debug({ err }, 'metrics: loading existing snapshots failed'));
  }
}
