/**
 * The metrics window's memory: every pod's samples over the last hour (the
 * longest span), and the figures charted from them. Pure logic (no DOM, no
 * chart.js) so it is unit-tested in Node.
 *
 * Two kinds of chart: the container's own figures (from its cgroup) and the
 * application's, one line per pod; the host's figures (from /proc, which in a
 * pod shows the node), one line per node, since every pod on a node reports
 * the same ones.
 *
 * A pod's snapshot arrives first; its derived figures (moving averages,
 * percentages from the function runtime) may follow in a separate message
 * for the same snapshot. Samples are keyed by the snapshot's own timestamp
 * so the second message completes the first instead of adding a point.
 *
 * Live points are placed at the time this client first received them, not at
 * the pod's timestamp: pods' clocks may be off from this computer's, and the
 * charts' time axis ends at this computer's "now". History from the backend
 * is placed at the backend's receive time, shifted by the backend's clock
 * offset (its `serverTime` against ours).
 */
import type { MetricValue, MetricsPodHistory, MetricsSample, MetricsUpdate } from '../platform/platform.js';

export type MetricScope = 'pod' | 'node';

export interface MetricDef {
  id: string;
  title: string;
  unit: string;
  /** One line per pod (container and application figures) or per node (host figures). */
  scope: MetricScope;
  /** Fixed top of the y axis (percentages), or undefined to fit the data. */
  max?: number;
  /** The figure for one sample; `previous` (the pod's sample before it) for rates. */
  value(sample: MetricsSample, previous: MetricsSample | null, seconds: number): number | null;
}

const num = (value: MetricValue | undefined): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function meanOf(record: Record<string, MetricValue> | null, prefix: string): number | null {
  if (!record) return null;
  const values = Object.entries(record)
    .filter(([key]) => key.startsWith(prefix))
    .map(([, value]) => num(value))
    .filter((v): v is number => v !== null);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

const MIB = 1024 * 1024;

/** Bytes per second through the pod's own interface, from two samples' counters (absent: not the pod's own interface). */
function podNetworkRate(sample: MetricsSample, previous: MetricsSample | null, seconds: number): number | null {
  if (!previous || !(seconds > 0)) return null;
  const total = (s: MetricsSample): number | null => {
    const sent = num(s.snapshot['container-net_io_counters-bytes_sent']);
    const recv = num(s.snapshot['container-net_io_counters-bytes_recv']);
    return sent === null || recv === null ? null : sent + recv;
  };
  const now = total(sample);
  const before = total(previous);
  // A counter that went backwards (the pod restarted) is a gap, not a negative rate.
  if (now === null || before === null || now < before) return null;
  return (now - before) / 1024 / seconds;
}

export const METRICS: readonly MetricDef[] = [
  {
    id: 'container-cpu',
    title: 'Container CPU, of its limit',
    unit: '%',
    scope: 'pod',
    max: 100,
    value: (s) => num(s.snapshot['container-cpu_percent']),
  },
  {
    id: 'container-memory',
    title: 'Container memory used',
    unit: 'MiB',
    scope: 'pod',
    value: (s) => {
      const bytes = num(s.snapshot['container-memory_used']);
      return bytes === null ? null : bytes / MIB;
    },
  },
  { id: 'container-network', title: 'Container network, sent + received', unit: 'KiB/s', scope: 'pod', value: podNetworkRate },
  { id: 'queue', title: 'Queue size (images waiting)', unit: 'images', scope: 'pod', value: (s) => num(s.snapshot['app-queue_size']) },
  { id: 'threads', title: 'Busy worker threads', unit: 'threads', scope: 'pod', value: (s) => num(s.snapshot['app-active_threads']) },
  { id: 'throughput', title: 'Throughput', unit: 'images/s', scope: 'pod', value: (s) => num(s.snapshot['app-throughput']) },
  {
    id: 'cpu',
    title: 'Node CPU, 60 s moving average (mean of cores)',
    unit: '%',
    scope: 'node',
    max: 100,
    value: (s) => meanOf(s.derived, 'moving_average_cpu_percent-'),
  },
  {
    id: 'memory',
    title: 'Node memory used as cache and buffers',
    unit: '%',
    scope: 'node',
    max: 100,
    value: (s) => num(s.derived?.percentage_memory_caching),
  },
  {
    id: 'outgoing',
    title: 'Node outgoing share of network traffic',
    unit: '%',
    scope: 'node',
    max: 100,
    value: (s) => num(s.derived?.percentage_outgoing_bytes),
  },
];

export interface Point {
  x: number;
  y: number | null;
}

/** One line of a chart: a pod's, or a node's. */
export interface Series {
  label: string;
  /** Every pod behind the line has stopped publishing. */
  gone: boolean;
  points: Point[];
}

interface Entry {
  x: number;
  sample: MetricsSample;
}

interface PodState {
  entries: Map<string, Entry>;
  /** The entries by time, rebuilt only after a change: every chart reads them on every draw. */
  sorted: Entry[] | null;
  /** When the pod was last heard from, by this client's clock (pod clocks may differ). */
  lastSeen: number;
  /** The backend said it stopped (its key expired); cleared by its next snapshot. */
  gone: boolean;
  node: string | null;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class MetricsHistory {
  private readonly pods = new Map<string, PodState>();

  constructor(private readonly keepMs = 60 * 60_000) {}

  /** Applies one stream message; returns true when the charts should be redrawn. */
  apply(update: MetricsUpdate, now = Date.now()): boolean {
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

  /** The metric's points for a pod since `since`, oldest first. */
  points(metric: MetricDef, pod: string, since: number): Point[] {
    const entries = this.sorted(pod);
    const out: Point[] = [];
    entries.forEach((entry, i) => {
      if (entry.x < since) return;
      const previous = entries[i - 1];
      const seconds = previous ? (entry.x - previous.x) / 1000 : 0;
      out.push({ x: entry.x, y: metric.value(entry.sample, previous?.sample ?? null, seconds) });
    });
    return out;
  }

  /**
   * The chart's lines since `since`: one per pod, or one per node drawn from
   * the node's first pod by name that has samples in the span (its pods all
   * report the same host figures).
   */
  series(metric: MetricDef, since: number, isGone: (pod: string) => boolean): Series[] {
    const lines = new Map<string, Point[]>();
    for (const pod of this.podNames()) {
      const points = this.points(metric, pod, since);
      if (points.length > 0) lines.set(pod, points);
    }
    if (metric.scope === 'pod') return [...lines].map(([pod, points]) => ({ label: pod, gone: isGone(pod), points }));
    const nodes = new Map<string, string[]>();
    for (const pod of lines.keys()) {
      const node = this.pods.get(pod)!.node ?? pod;
      nodes.set(node, [...(nodes.get(node) ?? []), pod]);
    }
    return [...nodes.entries()]
      .sort(([a], [b]) => byName(a, b))
      .map(([node, members]) => {
        const live = members.filter((pod) => !isGone(pod));
        const source = live[0] ?? members[0]!;
        return { label: node, gone: live.length === 0, points: lines.get(source)! };
      });
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
    state.entries.set(stamp, { x: existing?.x ?? x, sample: { ...sample, snapshot, derived } });
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

  /** Drops samples older than the longest span, and pods (gone ones) left with none. */
  prune(now = Date.now()): void {
    for (const state of this.pods.values()) this.trim(state, now);
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
