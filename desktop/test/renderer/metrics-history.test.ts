/** The metrics window's series logic, in Node. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartSpecs, POD_CHARTS, type ChartSpec } from '../../src/renderer/metrics/chart-specs.js';
import { MetricsHistory, type MetricDef } from '../../src/renderer/metrics/history.js';
import type { MetricsSample } from '../../src/shared/models.js';

/** A pod chart's figure, as a line per pod. */
const metric = (id: string): MetricDef => ({ id, scope: 'pod', value: POD_CHARTS.find((m) => m.id === id)!.value });

/** The window's charts of `history` now (every pod live), by their data-metric and, for per-core ones, node or view. */
function specOf(history: MetricsHistory, metricId: string, options: { meanOfCores?: boolean; node?: string } = {}): ChartSpec {
  const specs = chartSpecs(history, { meanOfCores: options.meanOfCores ?? false, since: 0, isGone: () => false, livePods: history.podNames() });
  const spec = specs.find((s) => s.metric === metricId && (options.node === undefined || s.node === options.node));
  assert.ok(spec, `a chart ${metricId} among ${specs.map((s) => s.key).join(', ')}`);
  return spec;
}

const ys = (spec: ChartSpec, history: MetricsHistory, since = 0, isGone = (_pod: string) => false): [string, boolean, (number | null)[]][] =>
  spec.lines(history, since, isGone).map((s) => [s.label, s.gone, s.points.map((p) => p.y)]);

function sample(pod: string, timestamp: string, snapshot: Record<string, number>, derived: Record<string, number> | null = null): MetricsSample {
  return { pod, snapshot: { timestamp, pod, ...snapshot }, derived, receivedAt: new Date().toISOString() };
}

describe('metrics history', () => {
  it('charts the figures, completing a snapshot with its derived figures', () => {
    const history = new MetricsHistory();
    // The pod's clock is a year behind this computer's: points go where they arrived.
    const t = '2025-03-01 12:00:00.000000';
    const x = Date.parse('2026-03-01T12:00:00Z');
    history.apply({ type: 'snapshot', sample: sample('pod-a', t, { 'app-queue_size': 4, 'app-active_threads': 2, 'app-throughput': 7.5 }) }, x);
    assert.deepEqual(history.points(metric('queue'), 'pod-a', 0), [{ x, y: 4 }]);
    assert.equal(
      chartSpecs(history, { meanOfCores: true, since: 0, isGone: () => false, livePods: ['pod-a'] }).some((s) => s.group !== 'pod'),
      false,
      'no derived figures yet: no chart of them',
    );
    history.apply(
      {
        type: 'derived',
        sample: sample(
          'pod-a',
          t,
          { 'app-queue_size': 4 },
          { 'moving_average_cpu_percent-0': 40, 'moving_average_cpu_percent-1': 60, percentage_memory_caching: 12.5, percentage_outgoing_bytes: 80 },
        ),
      },
      x + 300,
    );
    assert.equal(history.sampleCount, 1, 'the same snapshot, completed');
    const mean = specOf(history, 'derived:moving_average_cpu_percent-{i}', { meanOfCores: true });
    assert.deepEqual(mean.lines(history, 0, () => false)[0]!.points, [{ x, y: 50 }], 'mean over the cores, at the first arrival');
    assert.deepEqual(
      ys(specOf(history, 'derived:moving_average_cpu_percent-{i}', { node: 'pod-a' }), history),
      [
        ['cpu 0', false, [40]],
        ['cpu 1', false, [60]],
      ],
      'each core, for the node (here named after its only pod: the snapshot names none)',
    );
    assert.equal(ys(specOf(history, 'derived:percentage_memory_caching'), history)[0]![2][0], 12.5);
    assert.equal(ys(specOf(history, 'derived:percentage_outgoing_bytes'), history)[0]![2][0], 80);
    assert.equal(history.points(metric('threads'), 'pod-a', 0)[0]!.y, 2);
    assert.equal(history.points(metric('throughput'), 'pod-a', 0)[0]!.y, 7.5);
    // A later snapshot whose derived figures have not come (yet): a gap in their lines.
    history.apply({ type: 'snapshot', sample: sample('pod-a', '2025-03-01 12:00:01.000000', { 'app-queue_size': 5 }) }, x + 1000);
    assert.deepEqual(
      mean.lines(history, 0, () => false)[0]!.points,
      [
        { x, y: 50 },
        { x: x + 1000, y: null },
      ],
      'no derived figures yet: a gap',
    );
  });

  it('keeps pods apart, keeps expired ones marked gone, and notices silent ones', () => {
    const history = new MetricsHistory();
    const now = Date.parse('2026-03-01T12:00:10Z');
    history.apply({ type: 'snapshot', sample: sample('b', '2026-03-01 12:00:00.000000', {}) }, now - 10_000);
    history.apply({ type: 'snapshot', sample: sample('a', '2026-03-01 12:00:09.000000', {}) }, now);
    assert.deepEqual(history.podNames(), ['a', 'b']);
    assert.deepEqual(history.livePods(now, 5000), ['a'], 'b has been silent for 10 s');
    history.apply({ type: 'expired', pod: 'a' });
    assert.deepEqual(history.podNames(), ['a', 'b'], 'a stopped pod keeps its line for the span');
    assert.equal(history.isGone('a', now, 5000), true);
    assert.equal(history.isGone('b', now, 5000), true, 'silent for longer than allowed');
    assert.deepEqual(history.livePods(now, 60_000), ['b']);
    // A new snapshot brings it back.
    history.apply({ type: 'snapshot', sample: sample('a', '2026-03-01 12:00:11.000000', {}) }, now + 1000);
    assert.equal(history.isGone('a', now + 1000, 5000), false);
  });

  it("loads the backend's history onto this computer's clock, with stopped pods marked gone", () => {
    const history = new MetricsHistory();
    // The backend's clock is 10 s ahead of ours.
    const now = Date.parse('2026-03-01T12:10:00Z');
    const server = (ms: number) => new Date(ms + 10_000).toISOString();
    const line = (pod: string, node: string, gone: boolean, cpu: number[]) => ({
      pod,
      node,
      gone,
      lastSeenAt: server(now - 1000),
      samples: cpu.map((value, i) => ({
        snapshot: { pod, node, timestamp: `2026-03-01 12:0${i}:00.000000`, 'container-cpu_percent': value },
        derived: { 'moving_average_cpu_percent-0': value / 2 },
        receivedAt: server(now - (cpu.length - i) * 60_000),
      })),
    });
    history.load([line('a', 'n1', false, [10, 20, 30]), line('b', 'n1', true, [70, 80, 90]), line('c', 'n2', false, [5])], server(now), now);
    const cpu = metric('container-cpu');
    assert.deepEqual(history.points(cpu, 'a', 0), [
      { x: now - 180_000, y: 10 },
      { x: now - 120_000, y: 20 },
      { x: now - 60_000, y: 30 },
    ]);
    const isGone = (pod: string) => history.isGone(pod, now, 60_000);
    assert.deepEqual(
      history.series(cpu, now - 150_000, isGone).map((s) => [s.label, s.gone, s.points.map((p) => p.y)]),
      [
        ['a', false, [20, 30]],
        ['b', true, [80, 90]],
        ['c', false, [5]],
      ],
    );
    // Host figures: one line per node, from a live pod of that node.
    assert.deepEqual(ys(specOf(history, 'derived:moving_average_cpu_percent-{i}', { meanOfCores: true }), history, 0, isGone), [
      ['n1', false, [5, 10, 15]],
      ['n2', false, [2.5]],
    ]);
    assert.deepEqual(history.livePods(now, 60_000), ['a', 'c']);
  });

  it("charts the pod's own network as a rate, with a gap where the interface is not the pod's", () => {
    const history = new MetricsHistory();
    const t0 = Date.parse('2026-03-01T12:00:00Z');
    const net = (sent: number, recv: number) => ({ 'container-net_io_counters-bytes_sent': sent, 'container-net_io_counters-bytes_recv': recv });
    history.apply({ type: 'snapshot', sample: sample('a', '2026-03-01 12:00:00.000000', net(0, 0)) }, t0);
    history.apply({ type: 'snapshot', sample: sample('a', '2026-03-01 12:00:02.000000', net(2048, 2048)) }, t0 + 2000);
    history.apply({ type: 'snapshot', sample: sample('b', '2026-03-01 12:00:00.000000', {}) }, t0);
    history.apply({ type: 'snapshot', sample: sample('b', '2026-03-01 12:00:02.000000', {}) }, t0 + 2000);
    const network = metric('container-network');
    assert.deepEqual(
      history.points(network, 'a', 0).map((p) => p.y),
      [null, 2],
    );
    assert.deepEqual(
      history.points(network, 'b', 0).map((p) => p.y),
      [null, null],
    );
  });

  it('forgets samples older than the longest time span', () => {
    const history = new MetricsHistory(60_000);
    const base = Date.parse('2026-03-01T12:00:00Z');
    for (let i = 0; i < 10; i++) {
      const time = new Date(base + i * 20_000).toISOString().replace('T', ' ').replace('Z', '');
      history.apply({ type: 'snapshot', sample: sample('a', time, { 'app-queue_size': i }) }, base + i * 20_000);
    }
    assert.ok(history.sampleCount <= 4);
    assert.deepEqual(
      history.points(metric('queue'), 'a', base + 150_000).map((p) => p.y),
      [8, 9],
    );
  });
});
