/**
 * The metrics window's memory: every pod's samples over the last hour (the
 * longest span), and the points charted from them. Pure logic (no DOM, no
 * chart.js) so it is unit-tested in Node. Which charts there are, and what
 * each draws, is chart-specs.ts's business.
 *
 * A pod's snapshot arrives first; its derived figures (whatever the function
 * computes) may follow in a separate message for the same snapshot. Samples
 * are keyed by the snapshot's own timestamp so the second message completes
 * the first instead of adding a point. The derived figures are flattened to
 * their numbers once, when they arrive (see derived-keys.ts), and every key
 * seen is remembered with when it was last seen, so the window charts what
 * the function writes now, whatever its key names.
 *
 * Live points are placed at the time this client first received them, not at
 * the pod's timestamp: pods' clocks may be off from this computer's, and the
 * charts' time axis ends at this computer's "now". History from the backend
 * is placed at the backend's receive time, shifted by the backend's clock
 * offset (its `serverTime` against ours).
 */
import type { MetricsPodHistory, MetricsSample, MetricsUpdate } from '../platform/platform.js';
import { numericFigures } from './derived-keys.js';

export type MetricScope = 'pod' | 'node';

/** What a figure is computed from: a pod's snapshot and the numbers among its derived figures. */
export interface SampleView {
  snapshot: MetricsSample['snapshot'];
  figures: ReadonlyMap<string, number>;
}

/** One figure, as a line per pod (the pod's own figures) or per node (host figures, the same for every pod of a node). */
export interface MetricDef {
  id: string;
  scope: MetricScope;
  /** The figure for one sample; `previous` (the pod's sample before it) for rates. */
  value(sample: SampleView, previous: SampleView | null, seconds: number): number | null;
}

export interface Point {
  x: number;
  y: number | null;
}

/** One line of a chart: a pod's, a node's, or a core's. */
export interface Series {
  label: string;
  /** Every pod behind the line has stopped publishing. */
  gone: boolean;
  points: Point[];
  /** Said after the label in the legend (e.g. where a pod's figures come from). */
  note?: string;
}

interface Entry {
  x: number;
  sample: MetricsSample;
  figures: Map<string, number>;
}

interface PodState {
  entries: Map<string, Entry>;
  /** The entries by time, rebuilt only after a change: every chart reads them on every draw. */
  sorted: Entry[] | null;
  /** When the pod was last heard from, by this client's clock (pod clocks may differ). */
  lastSeen: number;
  /** The backend said it stopped (its key expired, or it said goodbye); cleared by its next snapshot. */
  gone: boolean;
  node: string | null;
}

export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class MetricsHistory {
  private readonly pods = new Map<string, PodState>();
  /** Every derived key seen, and the time of the latest sample that had it. */
  private readonly derivedSeen = new Map<string, number>();

  constructor(private readonly keepMs = 60 * 60_000) {}

  /** Applies one stream message; returns true when the charts should be redrawn. */
  apply(update: MetricsUpdate, now = Date.now()): boolean {
    if (update.type === 'health') return false;
    if (update.type === 'expired') {
      // The line stays for the span, marked gone.
      const state = this.pods.get(update.pod);
      if (!state || state.gone) return false;
      state.gone = true;
      return true;
    }
    const state = this.put(update.sample, now);
    state.lastSeen = Math.max(state.lastSeen, now);
    state.gone = false;
    this.trim(state, now);
    return true;
  }

  /**
   * Loads the backend's history (GET /api/v1/metrics?span=…), so the window
   * draws the whole span at once. `serverTime` is the backend's clock when it
   * answered: its receive times are shifted onto this computer's.
   */
  load(history: readonly MetricsPodHistory[], serverTime: string | undefined, now = Date.now()): void {
    const server = serverTime === undefined ? Number.NaN : Date.parse(serverTime);
    const offset = Number.isFinite(server) ? now - server : 0;
    for (const line of history) {
      let state: PodState | undefined;
      for (const sample of line.samples) {
        const at = Date.parse(sample.receivedAt);
        if (!Number.isFinite(at)) continue;
        state = this.put({ ...sample, pod: line.pod }, at + offset);
      }
      if (!state) continue;
      state.lastSeen = Math.max(state.lastSeen, Date.parse(line.lastSeenAt) + offset || 0);
      state.gone = line.gone;
      this.trim(state, now);
    }
  }

  /**
   * Pods heard from within `maxAgeMs` and not announced gone. The backend
   * announces pods that go away, but not when its own publisher stops or the
   * stream is cut: the silence itself must count too.
   */
  livePods(now: number, maxAgeMs: number): string[] {
    return this.podNames().filter((pod) => {
      const state = this.pods.get(pod)!;
      return !state.gone && now - state.lastSeen <= maxAgeMs;
    });
  }

  /** Every pod with samples (gone ones included, until their samples age out). */
  podNames(): string[] {
    return [...this.pods.keys()].sort(byName);
  }

  isGone(pod: string, now: number, maxAgeMs: number): boolean {
    const state = this.pods.get(pod);
    return state !== undefined && (state.gone || now - state.lastSeen > maxAgeMs);
  }

  /** When any pod was last heard from (this client's clock), or null before the first sample. */
  lastUpdate(): number | null {
    let last: number | null = null;
    for (const state of this.pods.values()) if (state.entries.size > 0 && (last === null || state.lastSeen > last)) last = state.lastSeen;
    return last;
  }

  latest(pod: string): MetricsSample | null {
    const entries = this.sorted(pod);
    return entries.at(-1)?.sample ?? null;
  }

  /** The node a pod runs on (from its snapshots), or null when they do not say. */
  nodeOf(pod: string): string | null {
    return this.pods.get(pod)?.node ?? null;
  }

  /** The derived keys some sample at or after `since` had. */
  derivedKeysSince(since: number): string[] {
    return [...this.derivedSeen].filter(([, x]) => x >= since).map(([key]) => key);
  }

  /** The metric's points for a pod since `since`, oldest first. */
  points(metric: MetricDef, pod: string, since: number): Point[] {
    const entries = this.sorted(pod);
    const out: Point[] = [];
    entries.forEach((entry, i) => {
      if (entry.x < since) return;
      const previous = entries[i - 1];
      const seconds = previous ? (entry.x - previous.x) / 1000 : 0;
      out.push({ x: entry.x, y: metric.value(viewOf(entry), previous ? viewOf(previous) : null, seconds) });
    });
    return out;
  }

  /**
   * For each node with samples since `since`, the pod its host figures are
   * drawn from: the first live one by name (its pods all report the same
   * figures), else the first; and whether all its pods are gone.
   */
  nodeSources(since: number, isGone: (pod: string) => boolean): { node: string; pod: string; gone: boolean }[] {
    const nodes = new Map<string, string[]>();
    for (const pod of this.podNames()) {
      if (!this.sorted(pod).some((e) => e.x >= since)) continue;
      const node = this.pods.get(pod)!.node ?? pod;
      nodes.set(node, [...(nodes.get(node) ?? []), pod]);
    }
    return [...nodes.entries()]
      .sort(([a], [b]) => byName(a, b))
      .map(([node, members]) => {
        const live = members.filter((pod) => !isGone(pod));
        return { node, pod: live[0] ?? members[0]!, gone: live.length === 0 };
      });
  }

  /** The chart's lines since `since`: one per pod, or one per node (see nodeSources). */
  series(metric: MetricDef, since: number, isGone: (pod: string) => boolean): Series[] {
    if (metric.scope === 'node') {
      return this.nodeSources(since, isGone)
        .map(({ node, pod, gone }) => ({ label: node, gone, points: this.points(metric, pod, since) }))
        .filter((line) => line.points.length > 0);
    }
    return this.podNames()
      .map((pod) => ({ label: pod, gone: isGone(pod), points: this.points(metric, pod, since) }))
      .filter((line) => line.points.length > 0);
  }

  get sampleCount(): number {
    let n = 0;
    for (const state of this.pods.values()) n += state.entries.size;
    return n;
  }

  private put(sample: MetricsSample, x: number): PodState {
    let state = this.pods.get(sample.pod);
    if (!state) {
      state = { entries: new Map(), sorted: null, lastSeen: 0, gone: false, node: null };
      this.pods.set(sample.pod, state);
    }
    const stamp = typeof sample.snapshot.timestamp === 'string' ? sample.snapshot.timestamp : sample.receivedAt;
    const existing = state.entries.get(stamp);
    // A "derived" message completes the snapshot it was computed from.
    const derived = sample.derived ?? existing?.sample.derived ?? null;
    const snapshot = { ...existing?.sample.snapshot, ...sample.snapshot };
    const at = existing?.x ?? x;
    const figures = existing && derived === existing.sample.derived ? existing.figures : numericFigures(derived);
    for (const key of figures.keys()) this.derivedSeen.set(key, Math.max(this.derivedSeen.get(key) ?? 0, at));
    state.entries.set(stamp, { x: at, sample: { ...sample, snapshot, derived }, figures });
    state.sorted = null;
    if (typeof snapshot.node === 'string' && snapshot.node !== '') state.node = snapshot.node;
    return state;
  }

  private sorted(pod: string): Entry[] {
    const state = this.pods.get(pod);
    if (!state) return [];
    state.sorted ??= [...state.entries.values()].sort((a, b) => a.x - b.x);
    return state.sorted;
  }

  /** Drops samples older than the longest span, pods (gone ones) left with none, and keys no sample has any more. */
  prune(now = Date.now()): void {
    for (const state of this.pods.values()) this.trim(state, now);
    for (const [key, x] of this.derivedSeen) if (x < now - this.keepMs) this.derivedSeen.delete(key);
  }

  private trim(state: PodState, now: number): void {
    for (const [key, entry] of state.entries) {
      if (entry.x < now - this.keepMs) {
        state.entries.delete(key);
        state.sorted = null;
      }
    }
    if (state.entries.size === 0) {
      for (const [pod, s] of this.pods) if (s === state) this.pods.delete(pod);
    }
  }
}

function viewOf(entry: Entry): SampleView {
  return { snapshot: entry.sample.snapshot, figures: entry.figures };
}
