/**
 * Every pod's snapshots of about the last hour, in this process: what
 * `/api/v1/metrics?span=…` and the stream's first event serve, so a metrics
 * window opened at any time draws the span at once. With Redis, each pod also
 * appends its snapshots to `metrics-history:<pod>` and a hub that (re)connects
 * merges those streams in here, so a pod that just started knows the hour
 * before it too.
 *
 * A pod that stopped stays here (marked gone by the caller, who knows which
 * pods are live) until its last snapshot leaves the span asked for.
 */
import type { DerivedFigures, HistorySample, PodHistory } from '../contract/metrics.js';
import type { Snapshot } from './snapshot-contract.js';

/** One snapshot in the history with the derived figures known for it, and one pod's line over a span (contract/metrics.ts). */
export type { HistorySample, PodHistory };

interface Entry {
  atMs: number;
  sample: HistorySample;
}

export class HistoryRing {
  private readonly pods = new Map<string, Entry[]>();

  constructor(
    /** Most snapshots kept per pod (about an hour's worth, see historyCapacity). */
    private readonly capacity: number,
    /** Samples older than this are dropped. */
    private readonly keepMs: number,
  ) {}

  /** Adds one snapshot unless the pod already has one with its timestamp (our own publish echoes back). */
  add(snapshot: Snapshot, derived: DerivedFigures | null, atMs = Date.now()): void {
    const entries = this.entriesOf(snapshot.pod);
    if (entries.some((e) => e.sample.snapshot.timestamp === snapshot.timestamp)) return;
    const entry = { atMs, sample: { snapshot, derived, receivedAt: new Date(atMs).toISOString() } };
    const last = entries.at(-1);
    entries.push(entry);
    if (last && last.atMs > atMs) entries.sort((a, b) => a.atMs - b.atMs);
    if (entries.length > this.capacity) entries.splice(0, entries.length - this.capacity);
  }

  /** Derived figures that arrive after their snapshot complete it (the runtime writes them later). */
  setDerived(pod: string, timestamp: string, derived: DerivedFigures | null): void {
    const entries = this.pods.get(pod);
    if (!entries) return;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.sample.snapshot.timestamp === timestamp) {
        entry.sample = { ...entry.sample, derived };
        return;
      }
    }
  }

  /** Merges samples read back from Redis (possibly overlapping what is here). */
  merge(samples: Iterable<{ snapshot: Snapshot; derived: DerivedFigures | null; atMs: number }>): void {
    for (const { snapshot, derived, atMs } of samples) this.add(snapshot, derived, atMs);
  }

  /** Every pod with a sample within `spanMs` of `nowMs`, oldest sample first, sorted by pod name. */
  read(spanMs: number, isLive: (pod: string) => boolean, nowMs = Date.now()): PodHistory[] {
    const since = nowMs - spanMs;
    const out: PodHistory[] = [];
    for (const [pod, entries] of this.pods) {
      const inSpan = entries.filter((e) => e.atMs >= since);
      const last = inSpan.at(-1);
      if (!last) continue;
      out.push({
        pod,
        node: last.sample.snapshot.node ?? null,
        gone: !isLive(pod),
        lastSeenAt: last.sample.receivedAt,
        samples: inSpan.map((e) => e.sample),
      });
    }
    return out.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  }

  /** Drops samples older than the retention, and pods left with none, so memory stays bounded. */
  prune(nowMs = Date.now()): void {
    const since = nowMs - this.keepMs;
    for (const [pod, entries] of this.pods) {
      const firstKept = entries.findIndex((e) => e.atMs >= since);
      if (firstKept < 0) this.pods.delete(pod);
      else if (firstKept > 0) entries.splice(0, firstKept);
    }
  }

  private entriesOf(pod: string): Entry[] {
    let entries = this.pods.get(pod);
    if (!entries) {
      entries = [];
      this.pods.set(pod, entries);
    }
    return entries;
  }
}

/** How long the history reaches back, in seconds: the metrics window's longest span. */
export const HISTORY_SECONDS = 3600;

/**
 * Snapshots per pod for about an hour at `periodSeconds`, used for the ring
 * and for the Redis stream's `MAXLEN ~`. Bounded above so that a very short
 * period (tests use 0.2 s) cannot make a pod's history grow without limit.
 */
export function historyCapacity(periodSeconds: number): number {
  return Math.min(7200, Math.max(2, Math.ceil(HISTORY_SECONDS / periodSeconds) + 1));
}
