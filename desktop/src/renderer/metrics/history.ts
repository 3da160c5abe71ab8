/**
 * The metrics window's memory: every pod's samples over the last 15 minutes,
 * and the six figures charted from them. Pure logic (no DOM, no chart.js) so
 * it is unit-tested in Node.
 *
 * A pod's snapshot arrives first; its derived figures (moving averages,
 * percentages from the function runtime) may follow in a separate message
 * for the same snapshot. Samples are keyed by the snapshot's own timestamp
 * so the second message completes the first instead of adding a point.
 *
 * Points are placed at the time this client first received them, not at the
 * pod's timestamp: pods' clocks may be off from this computer's, and the
 * charts' time axis ends at this computer's "now".
 */
import type { MetricValue, MetricsSample, MetricsUpdate } from '../platform/platform.js';

export interface MetricDef {
  id: string;
  title: string;
  unit: string;
  /** Fixed top of the y axis (percentages), or undefined to fit the data. */
  max?: number;
  value(sample: MetricsSample): number | null;
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

export const METRICS: readonly MetricDef[] = [
  {
    id: 'cpu',
    title: 'CPU, 60 s moving average (mean of cores)',
    unit: '%',
    max: 100,
    value: (s) => meanOf(s.derived, 'moving_average_cpu_percent-'),
  },
  { id: 'memory', title: 'Memory used as cache and buffers', unit: '%', max: 100, value: (s) => num(s.derived?.percentage_memory_caching) },
  { id: 'outgoing', title: 'Outgoing share of network traffic', unit: '%', max: 100, value: (s) => num(s.derived?.percentage_outgoing_bytes) },
  { id: 'queue', title: 'Queue size (images waiting)', unit: 'images', value: (s) => num(s.snapshot['app-queue_size']) },
  { id: 'threads', title: 'Busy worker threads', unit: 'threads', value: (s) => num(s.snapshot['app-active_threads']) },
  { id: 'throughput', title: 'Throughput', unit: 'images/s', value: (s) => num(s.snapshot['app-throughput']) },
];

export interface Point {
  x: number;
  y: number | null;
}

interface Entry {
  x: number;
  sample: MetricsSample;
}

export class MetricsHistory {
  private readonly pods = new Map<string, Map<string, Entry>>();
  /** When each pod was last heard from, by this client's clock (pod clocks may differ). */
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly keepMs = 15 * 60_000) {}

  /** Applies one stream message; returns true when the charts should be redrawn. */
  apply(update: MetricsUpdate, now = Date.now()): boolean {
    if (update.type === 'expired') {
      this.lastSeen.delete(update.pod);
      return this.pods.delete(update.pod);
    }
    const { sample } = update;
    const stamp = typeof sample.snapshot.timestamp === 'string' ? sample.snapshot.timestamp : sample.receivedAt;
    let entries = this.pods.get(sample.pod);
    if (!entries) {
      entries = new Map();
      this.pods.set(sample.pod, entries);
    }
    const existing = entries.get(stamp);
    // A "derived" message completes the snapshot it was computed from.
    const derived = sample.derived ?? existing?.sample.derived ?? null;
    const snapshot = { ...existing?.sample.snapshot, ...sample.snapshot };
    entries.set(stamp, { x: existing?.x ?? now, sample: { ...sample, snapshot, derived } });
    this.lastSeen.set(sample.pod, now);
    this.trim(entries, now);
    return true;
  }

  /**
   * Pods heard from within `maxAgeMs`. The backend announces pods that go
   * away, but not when its own publisher stops or the stream is cut: the
   * silence itself must count too.
   */
  livePods(now: number, maxAgeMs: number): string[] {
    return this.podNames().filter((pod) => now - (this.lastSeen.get(pod) ?? 0) <= maxAgeMs);
  }

  podNames(): string[] {
    return [...this.pods.keys()].sort();
  }

  latest(pod: string): MetricsSample | null {
    const entries = this.pods.get(pod);
    if (!entries || entries.size === 0) return null;
    let best: Entry | null = null;
    for (const entry of entries.values()) if (!best || entry.x > best.x) best = entry;
    return best?.sample ?? null;
  }

  /** The metric's points for a pod since `since`, oldest first. */
  points(metric: MetricDef, pod: string, since: number): Point[] {
    const entries = this.pods.get(pod);
    if (!entries) return [];
    return [...entries.values()]
      .filter((e) => e.x >= since)
      .sort((a, b) => a.x - b.x)
      .map((e) => ({ x: e.x, y: metric.value(e.sample) }));
  }

  get sampleCount(): number {
    let n = 0;
    for (const entries of this.pods.values()) n += entries.size;
    return n;
  }

  private trim(entries: Map<string, Entry>, now: number): void {
    for (const [key, entry] of entries) if (entry.x < now - this.keepMs) entries.delete(key);
  }
}
