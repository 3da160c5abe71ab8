/**
 * Which charts the metrics window shows, and what each draws. Pure logic, so
 * it is unit-tested in Node.
 *
 * - The pod's own figures, a line per pod: CPU, memory and network, labelled
 *   after where they come from (`container-source`: "Container" for a cgroup
 *   of its own, "Process" for its process tree, "Pod" when pods differ, each
 *   legend entry then saying which), and the application's queue, threads
 *   and throughput.
 * - Whatever the function writes (derived-keys.ts): each per-core family a
 *   chart per node with a line per core, or, with "mean of cores", one chart
 *   with a line per node; then each percentage and each other figure a chart
 *   of its own, a line per node (the function computes them from the host
 *   figures, which every pod of a node shares).
 */
import { groupDerivedKeys, type DerivedGroup, type PerCoreFamily, type SingleFigure } from './derived-keys.js';
import type { MetricDef, MetricsHistory, SampleView, Series } from './history.js';

export type ChartGroup = 'pod' | 'per-core' | 'percent' | 'other';

export interface ChartSpec {
  /** What the figure's data-metric says: a pod chart's id, or `derived:<key or template>`. */
  metric: string;
  /** Unique per chart: a per-core family has a chart per node. */
  key: string;
  group: ChartGroup;
  title: string;
  unit: string;
  /** A fixed top of the y axis, or one that larger values may exceed. */
  max?: number;
  suggestedMax?: number;
  /** The node of a per-core chart; 'mean' for the per-node mean of the cores. */
  node?: string;
  view?: 'mean';
  /** Whose colours the lines take. */
  palette: 'pod' | 'node' | 'core';
  /** Shown instead of lines when there are none. */
  emptyNote?: string;
  lines(history: MetricsHistory, since: number, isGone: (pod: string) => boolean): Series[];
}

export interface SpecOptions {
  meanOfCores: boolean;
  since: number;
  isGone: (pod: string) => boolean;
  livePods: readonly string[];
}

const MIB = 1024 * 1024;
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Bytes per second through the pod's own interface, from two samples' counters (absent: not the pod's own interface). */
function podNetworkRate(sample: SampleView, previous: SampleView | null, seconds: number): number | null {
  if (!previous || !(seconds > 0)) return null;
  const total = (s: SampleView): number | null => {
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

const field = (name: string) => (s: SampleView) => num(s.snapshot[name]);

interface PodChart {
  id: string;
  /** `who` is "Container", "Process" or "Pod" (see above). */
  title: (who: string) => string;
  unit: string;
  max?: number;
  /** Where the figure comes from `container-source` (the lines then say which when pods differ). */
  ownFigure: boolean;
  value: MetricDef['value'];
}

export const POD_CHARTS: readonly PodChart[] = [
  { id: 'container-cpu', title: (who) => `${who} CPU, of its limit`, unit: '%', max: 100, ownFigure: true, value: field('container-cpu_percent') },
  {
    id: 'container-memory',
    title: (who) => `${who} memory used`,
    unit: 'MiB',
    ownFigure: true,
    value: (s) => {
      const bytes = num(s.snapshot['container-memory_used']);
      return bytes === null ? null : bytes / MIB;
    },
  },
  { id: 'container-network', title: (who) => `${who} network, sent + received`, unit: 'KiB/s', ownFigure: true, value: podNetworkRate },
  { id: 'queue', title: () => 'Queue size (images waiting)', unit: 'images', ownFigure: false, value: field('app-queue_size') },
  { id: 'threads', title: () => 'Busy worker threads', unit: 'threads', ownFigure: false, value: field('app-active_threads') },
  { id: 'throughput', title: () => 'Throughput', unit: 'images/s', ownFigure: false, value: field('app-throughput') },
];

/** The bundled handler's figures keep the names the window always gave them; any other key is shown as it is written. */
const KNOWN_TITLES: Record<string, string> = {
  'moving_average_cpu_percent-{i}': 'CPU, 60 s moving average',
  percentage_memory_caching: 'Memory used as cache and buffers',
  percentage_outgoing_bytes: 'Outgoing share of network traffic',
};

const sourceOf = (history: MetricsHistory, pod: string): string | null => {
  const source = history.latest(pod)?.snapshot['container-source'];
  return typeof source === 'string' ? source : null;
};

/** "Container", "Process", or "Pod" when the live pods' figures come from both. */
function whoFor(history: MetricsHistory, pods: readonly string[]): { who: string; mixed: boolean } {
  const sources = new Set(pods.map((pod) => sourceOf(history, pod)).filter((s) => s !== null));
  if (sources.size > 1) return { who: 'Pod', mixed: true };
  return { who: sources.has('process') ? 'Process' : 'Container', mixed: false };
}

function podSpecs(history: MetricsHistory, options: SpecOptions): ChartSpec[] {
  const { who, mixed } = whoFor(history, options.livePods.length > 0 ? options.livePods : history.podNames());
  return POD_CHARTS.map((chart) => {
    const def: MetricDef = { id: chart.id, scope: 'pod', value: chart.value };
    return {
      metric: chart.id,
      key: chart.id,
      group: 'pod',
      title: chart.title(who),
      unit: chart.unit,
      ...(chart.max === undefined ? {} : { max: chart.max }),
      palette: 'pod',
      ...(chart.id === 'container-network' ? { emptyNote: "No pod has a network interface of its own: they share their node's." } : {}),
      lines: (h, since, isGone) =>
        h
          .series(def, since, isGone)
          // A pod without a network of its own has no line there, rather than an empty one.
          .filter((line) => chart.id !== 'container-network' || line.points.some((p) => p.y !== null))
          .map((line) => {
            const source = mixed && chart.ownFigure ? sourceOf(h, line.label) : null;
            return source === null ? line : { ...line, note: source === 'cgroup' ? 'container' : source };
          }),
    };
  });
}

const coreValue =
  (key: string): MetricDef['value'] =>
  (s) =>
    s.figures.get(key) ?? null;

function meanValue(family: PerCoreFamily): MetricDef['value'] {
  return (s) => {
    const values = family.cores.map(({ key }) => s.figures.get(key)).filter((v): v is number => v !== undefined);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  };
}

function perCoreSpecs(family: PerCoreFamily, history: MetricsHistory, options: SpecOptions): ChartSpec[] {
  const metric = `derived:${family.template}`;
  const title = KNOWN_TITLES[family.template] ?? family.template;
  const unit = /percent|pct|%|util|usage|cpu|core/i.test(family.template) ? '%' : 'value';
  const common = { metric, group: 'per-core' as const, unit, ...(unit === '%' ? { suggestedMax: 100 } : {}) };
  if (options.meanOfCores) {
    const def: MetricDef = { id: metric, scope: 'node', value: meanValue(family) };
    return [
      {
        ...common,
        key: `${metric}#mean`,
        view: 'mean',
        title: `${title}, mean of cores`,
        palette: 'node',
        lines: (h, since, isGone) => h.series(def, since, isGone),
      },
    ];
  }
  return history.nodeSources(options.since, options.isGone).map(({ node }) => ({
    ...common,
    key: `${metric}@${node}`,
    node,
    title: `${title} per core · ${node}`,
    palette: 'core' as const,
    lines: (h: MetricsHistory, since: number, isGone: (pod: string) => boolean): Series[] => {
      const source = h.nodeSources(since, isGone).find((s) => s.node === node);
      if (!source) return [];
      return family.cores
        .map(({ index, key }) => ({
          label: `cpu ${index}`,
          gone: source.gone,
          points: h.points({ id: key, scope: 'node', value: coreValue(key) }, source.pod, since),
        }))
        .filter((line) => line.points.some((p) => p.y !== null));
    },
  }));
}

function singleSpec(figure: SingleFigure): ChartSpec {
  const metric = `derived:${figure.key}`;
  const def: MetricDef = { id: metric, scope: 'node', value: coreValue(figure.key) };
  const percent = figure.kind === 'percent';
  return {
    metric,
    key: metric,
    group: figure.kind,
    title: KNOWN_TITLES[figure.key] ?? figure.key,
    unit: percent ? '%' : 'value',
    ...(percent ? { suggestedMax: 100 } : {}),
    palette: 'node',
    lines: (h, since, isGone) => h.series(def, since, isGone).filter((line) => line.points.some((p) => p.y !== null)),
  };
}

/** The node's core count, from the snapshots' `cpu_percent-N` (the most any pod reports). */
function coreCountOf(history: MetricsHistory): number {
  let cores = 0;
  for (const pod of history.podNames()) {
    const snapshot = history.latest(pod)?.snapshot ?? {};
    cores = Math.max(cores, Object.keys(snapshot).filter((k) => /^cpu_percent-\d+$/.test(k)).length);
  }
  return cores;
}

/** Every chart to show now, in order: the pods' own, then per core, percentages, other figures. */
export function chartSpecs(history: MetricsHistory, options: SpecOptions): ChartSpec[] {
  const rank: Record<DerivedGroup['kind'], number> = { 'per-core': 0, percent: 1, other: 2 };
  const derived = groupDerivedKeys(history.derivedKeysSince(options.since), coreCountOf(history)).sort((a, b) => rank[a.kind] - rank[b.kind]);
  return [
    ...podSpecs(history, options),
    ...derived.flatMap((group) => (group.kind === 'per-core' ? perCoreSpecs(group, history, options) : [singleSpec(group)])),
  ];
}
