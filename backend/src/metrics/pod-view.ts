/**
 * The latest snapshot of every pod this process has heard from, with the
 * pod's derived figures. Entries older than the expiry (three periods, like
 * the Redis keys) are dropped, so a dead pod leaves the view by itself.
 */
import { parseSnapshotTime } from '@imgfleet/runtime/default-handler';
import type { DerivedFigures, PodMetrics } from '../contract/metrics.js';
import type { Snapshot } from './snapshot-contract.js';

/** One pod's current state, as the HTTP routes and listeners see it (contract/metrics.ts). */
export type { PodMetrics };

interface Entry {
  metrics: PodMetrics;
  receivedAtMs: number;
  snapshotTime: number;
  derivedText: string | null;
}

export class PodView {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxAgeMs: number) {}

  /**
   * Stores `snapshot` unless the pod's current one is as new or newer (the
   * same snapshot arrives twice: our own publish echoes back, and a resync
   * after reconnecting reads keys we already have). Returns the stored entry,
   * or undefined when nothing changed.
   */
  putSnapshot(snapshot: Snapshot, nowMs = Date.now()): PodMetrics | undefined {
    const time = parseSnapshotTime(snapshot.timestamp);
    const current = this.entries.get(snapshot.pod);
    if (current && current.snapshotTime >= time) return undefined;
    const metrics: PodMetrics = {
      pod: snapshot.pod,
      snapshot,
      derived: current?.metrics.derived ?? null,
      receivedAt: new Date(nowMs).toISOString(),
    };
    this.entries.set(snapshot.pod, {
      metrics,
      receivedAtMs: nowMs,
      snapshotTime: time,
      derivedText: current?.derivedText ?? null,
    });
    return metrics;
  }

  /** Sets a pod's derived figures; returns the entry when they changed, undefined otherwise. */
  putDerived(pod: string, derived: DerivedFigures | null): PodMetrics | undefined {
    const entry = this.entries.get(pod);
    if (!entry) return undefined;
    const text = derived === null ? null : JSON.stringify(derived);
    if (text === entry.derivedText) return undefined;
    entry.derivedText = text;
    entry.metrics = { ...entry.metrics, derived };
    return entry.metrics;
  }

  /** Removes a pod at once (it said goodbye); whether it was there. */
  remove(pod: string): boolean {
    return this.entries.delete(pod);
  }

  /** Removes entries older than the expiry; returns the pods removed. */
  expire(nowMs = Date.now()): string[] {
    const removed: string[] = [];
    for (const [pod, entry] of this.entries) {
      if (nowMs - entry.receivedAtMs > this.maxAgeMs) {
        this.entries.delete(pod);
        removed.push(pod);
      }
    }
    return removed;
  }

  /** Current entries, sorted by pod name, without any that have outlived the expiry. */
  list(nowMs = Date.now()): PodMetrics[] {
    return [...this.entries.values()]
      .filter((e) => nowMs - e.receivedAtMs <= this.maxAgeMs)
      .map((e) => e.metrics)
      .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  }

  pods(): string[] {
    return [...this.entries.keys()];
  }
}
