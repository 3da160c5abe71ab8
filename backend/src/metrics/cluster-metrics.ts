/**
 * What one hub knows about the cluster: every live pod's latest snapshot and
 * derived figures (PodView), every pod's history (HistoryRing), when each pod
 * was last heard from (for the stale-pod report), and, when no function
 * runtime writes derived figures, the in-process handler contexts that
 * compute them. Every change goes out to the listeners.
 */
import type { StalePod } from '../contract/metrics.js';
import { InProcessDerived, type DerivedFigures } from './in-process-derived.js';
import type { MetricsListeners } from './listeners.js';
import { PodView, type PodMetrics } from './pod-view.js';
import { HistoryRing, type PodHistory } from './history-ring.js';
import type { Snapshot } from './snapshot-contract.js';

export interface ClusterMetricsOptions {
  /** A pod silent for this long is gone (three periods, like its Redis key). */
  lifetimeMs: number;
  historyCapacity: number;
  historyMs: number;
  /** Set when derived figures are computed here (no function runtime output key). */
  localDerived: InProcessDerived | undefined;
  listeners: MetricsListeners;
}

export class ClusterMetrics {
  private readonly view: PodView;
  private readonly ring: HistoryRing;
  /** Every pod heard from that has not said goodbye: when (this process's clock) and its node. */
  private readonly heard = new Map<string, { atMs: number; node: string | null }>();

  constructor(private readonly options: ClusterMetricsOptions) {
    this.view = new PodView(options.lifetimeMs);
    this.ring = new HistoryRing(options.historyCapacity, options.historyMs);
  }

  /** Puts a snapshot (ours or another pod's) into the view and the history, and tells listeners. */
  accept(snapshot: Snapshot): void {
    const stored = this.view.putSnapshot(snapshot);
    if (!stored) return;
    this.heard.set(snapshot.pod, { atMs: Date.parse(stored.receivedAt), node: snapshot.node ?? null });
    const { localDerived, listeners } = this.options;
    const metrics = localDerived ? (this.view.putDerived(snapshot.pod, localDerived.compute(snapshot)) ?? stored) : stored;
    this.ring.add(snapshot, metrics.derived, Date.parse(metrics.receivedAt));
    listeners.emit({ type: 'snapshot', metrics });
  }

  /** Derived figures from the function runtime, for a pod's latest snapshot. */
  putDerived(pod: string, derived: DerivedFigures | null): void {
    const changed = this.view.putDerived(pod, derived);
    if (!changed) return;
    this.ring.setDerived(pod, changed.snapshot.timestamp, derived);
    this.options.listeners.emit({ type: 'derived', metrics: changed });
  }

  /** Samples read back from the pods' Redis history streams. */
  mergeHistory(samples: Iterable<{ snapshot: Snapshot; derived: DerivedFigures | null; atMs: number }>): void {
    this.ring.merge(samples);
  }

  /** A pod said goodbye: gone at once (its line stays in the history), and never stale. */
  leave(pod: string): void {
    this.heard.delete(pod);
    if (!this.view.remove(pod)) return;
    this.options.localDerived?.forget(pod);
    this.options.listeners.emit({ type: 'expired', pod });
  }

  /**
   * Drops pods not heard from within their lifetime (they stay in the
   * history), old history, and pods silent for longer than anyone needs
   * telling (`forgetAfterMs`).
   */
  expire(forgetAfterMs: number, nowMs = Date.now()): void {
    for (const pod of this.view.expire(nowMs)) {
      this.options.localDerived?.forget(pod);
      this.options.listeners.emit({ type: 'expired', pod });
    }
    for (const [pod, { atMs }] of this.heard) if (nowMs - atMs > forgetAfterMs) this.heard.delete(pod);
    this.ring.prune(nowMs);
  }

  /** Pods silent for more than `afterMs` (and at most `untilMs`) that did not say goodbye, `except` this hub's own. */
  stalePods(afterMs: number, untilMs: number, except: string, nowMs = Date.now()): StalePod[] {
    const out: StalePod[] = [];
    for (const [pod, { atMs, node }] of this.heard) {
      const silent = nowMs - atMs;
      if (pod !== except && silent > afterMs && silent <= untilMs) out.push({ pod, node, lastSeenAt: new Date(atMs).toISOString() });
    }
    return out.sort((a, b) => (a.pod < b.pod ? -1 : 1));
  }

  latest(): PodMetrics[] {
    return this.view.list();
  }

  pods(): string[] {
    return this.view.pods();
  }

  derivedOf(pod: string): DerivedFigures | null {
    return this.view.list().find((m) => m.pod === pod)?.derived ?? null;
  }

  history(spanMs: number): PodHistory[] {
    const live = new Set(this.view.list().map((m) => m.pod));
    return this.ring.read(spanMs, (pod) => live.has(pod));
  }
}
