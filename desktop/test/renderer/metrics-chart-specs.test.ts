/** Which charts the metrics window draws from what the pods and the function write, and its notices, in Node. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartSpecs } from '../../src/renderer/metrics/chart-specs.js';
import { groupDerivedKeys, numericFigures } from '../../src/renderer/metrics/derived-keys.js';
import { noticeTexts } from '../../src/renderer/metrics/health-notices.js';
import { MetricsHistory } from '../../src/renderer/metrics/history.js';
import type { MetricsHealth, MetricsSample } from '../../src/shared/models.js';

function sample(pod: string, second: number, snapshot: Record<string, number | string>, derived: Record<string, unknown> | null = null): MetricsSample {
  const timestamp = `2026-03-01 12:00:${String(second).padStart(2, '0')}.000000`;
  return { pod, snapshot: { timestamp, pod, ...snapshot }, derived, receivedAt: new Date().toISOString() };
}

const specsOf = (history: MetricsHistory, meanOfCores = false) =>
  chartSpecs(history, { meanOfCores, since: 0, isGone: () => false, livePods: history.podNames() });

describe("the function's keys", () => {
  it('group into per-core families, percentages and other figures, whatever the handler calls them', () => {
    const groups = groupDerivedKeys(
      [
        'avg-util-cpu0-60sec',
        'avg-util-cpu1-60sec',
        'percent-network-egress',
        'percent-memory-cached',
        'moving_average_cpu_percent-0',
        'moving_average_cpu_percent-1',
        'moving-average-0',
        'moving-average-1',
        'net_io_counters_eth0-bytes_sent',
        'invocations',
      ],
      2,
    );
    assert.deepEqual(groups, [
      {
        kind: 'per-core',
        template: 'avg-util-cpu{i}-60sec',
        cores: [
          { index: 0, key: 'avg-util-cpu0-60sec' },
          { index: 1, key: 'avg-util-cpu1-60sec' },
        ],
      },
      {
        kind: 'per-core',
        template: 'moving-average-{i}',
        cores: [
          { index: 0, key: 'moving-average-0' },
          { index: 1, key: 'moving-average-1' },
        ],
      },
      {
        kind: 'per-core',
        template: 'moving_average_cpu_percent-{i}',
        cores: [
          { index: 0, key: 'moving_average_cpu_percent-0' },
          { index: 1, key: 'moving_average_cpu_percent-1' },
        ],
      },
      { kind: 'other', key: 'invocations' },
      { kind: 'other', key: 'net_io_counters_eth0-bytes_sent' },
      { kind: 'percent', key: 'percent-memory-cached' },
      { kind: 'percent', key: 'percent-network-egress' },
    ]);
    // An index family that is not about cores (and not as many as the cores) stays a set of single figures.
    assert.deepEqual(
      groupDerivedKeys(['queue-1', 'queue-2', 'queue-3'], 2).map((g) => g.kind),
      ['other', 'other', 'other'],
    );
  });

  it('are the numbers among the derived figures, nested objects flattened, lists and text left out', () => {
    const figures = numericFigures({
      timestamp: '2026-03-01 12:00:00',
      'percent-network-egress': 12.5,
      cpus_avg: { 'cpu_percent-0_avg': 3, 'cpu_percent-1_avg': 5 },
      cpu_history: { 'cpu_percent-0': [1, 2, 3] },
      'percent-cpu-use': [10, 20],
      nan: Number.NaN,
    });
    assert.deepEqual(
      [...figures],
      [
        ['percent-network-egress', 12.5],
        ['cpus_avg.cpu_percent-0_avg', 3],
        ['cpus_avg.cpu_percent-1_avg', 5],
      ],
    );
    assert.deepEqual(groupDerivedKeys(figures.keys(), 2)[0], {
      kind: 'per-core',
      template: 'cpus_avg.cpu_percent-{i}_avg',
      cores: [
        { index: 0, key: 'cpus_avg.cpu_percent-0_avg' },
        { index: 1, key: 'cpus_avg.cpu_percent-1_avg' },
      ],
    });
  });
});

describe('the chart list', () => {
  it("charts a custom handler's keys: per core for each node, or the mean per node, then its percentages", () => {
    const history = new MetricsHistory();
    const t = Date.parse('2026-03-01T12:00:00Z');
    for (const [pod, node, cpu0, cpu1] of [
      ['a', 'n1', 10, 30],
      ['b', 'n2', 50, 70],
    ] as const) {
      history.apply(
        {
          type: 'snapshot',
          sample: sample(
            pod,
            0,
            { node, 'cpu_percent-0': 1, 'cpu_percent-1': 1 },
            { 'avg-util-cpu0-60sec': cpu0, 'avg-util-cpu1-60sec': cpu1, 'percent-network-egress': 40 },
          ),
        },
        t,
      );
    }
    const perNode = specsOf(history);
    assert.deepEqual(
      perNode.filter((s) => s.group !== 'pod').map((s) => [s.key, s.group, s.unit]),
      [
        ['derived:avg-util-cpu{i}-60sec@n1', 'per-core', '%'],
        ['derived:avg-util-cpu{i}-60sec@n2', 'per-core', '%'],
        ['derived:percent-network-egress', 'percent', '%'],
      ],
    );
    const n2 = perNode.find((s) => s.node === 'n2')!;
    assert.deepEqual(
      n2.lines(history, 0, () => false).map((l) => [l.label, l.points.map((p) => p.y)]),
      [
        ['cpu 0', [50]],
        ['cpu 1', [70]],
      ],
    );
    const mean = specsOf(history, true).find((s) => s.view === 'mean')!;
    assert.equal(mean.metric, 'derived:avg-util-cpu{i}-60sec');
    assert.deepEqual(
      mean.lines(history, 0, () => false).map((l) => [l.label, l.points.map((p) => p.y)]),
      [
        ['n1', [20]],
        ['n2', [60]],
      ],
    );
    const egress = perNode.find((s) => s.metric === 'derived:percent-network-egress')!;
    assert.deepEqual(
      egress.lines(history, 0, () => false).map((l) => l.label),
      ['n1', 'n2'],
    );
  });

  it('forgets a key the function no longer writes once it leaves the span', () => {
    const history = new MetricsHistory();
    const t = Date.parse('2026-03-01T12:00:00Z');
    history.apply({ type: 'snapshot', sample: sample('a', 0, {}, { old_figure: 1 }) }, t);
    history.apply({ type: 'snapshot', sample: sample('a', 30, {}, { new_figure: 2 }) }, t + 30_000);
    const keys = (since: number) =>
      chartSpecs(history, { meanOfCores: false, since, isGone: () => false, livePods: ['a'] })
        .filter((s) => s.group !== 'pod')
        .map((s) => s.key);
    assert.deepEqual(keys(t), ['derived:new_figure', 'derived:old_figure']);
    assert.deepEqual(keys(t + 10_000), ['derived:new_figure']);
  });

  it("labels the pod's own figures after where they come from", () => {
    const title = (history: MetricsHistory, id: string) => specsOf(history).find((s) => s.metric === id)!.title;
    const history = new MetricsHistory();
    const t = Date.parse('2026-03-01T12:00:00Z');
    history.apply({ type: 'snapshot', sample: sample('a', 0, { 'container-source': 'cgroup', 'container-cpu_percent': 5 }) }, t);
    assert.equal(title(history, 'container-cpu'), 'Container CPU, of its limit');
    history.apply(
      { type: 'snapshot', sample: sample('a', 1, { 'container-source': 'process', 'container-cpu_percent': 5, 'container-memory_used': 2 ** 20 }) },
      t + 1000,
    );
    assert.equal(title(history, 'container-cpu'), 'Process CPU, of its limit');
    assert.equal(title(history, 'container-memory'), 'Process memory used');
    history.apply({ type: 'snapshot', sample: sample('b', 1, { 'container-source': 'cgroup', 'container-cpu_percent': 7 }) }, t + 1000);
    const cpu = specsOf(history).find((s) => s.metric === 'container-cpu')!;
    assert.equal(cpu.title, 'Pod CPU, of its limit');
    assert.deepEqual(
      cpu.lines(history, 0, () => false).map((l) => [l.label, l.note]),
      [
        ['a', 'process'],
        ['b', 'container'],
      ],
    );
    // The application's figures are the same whatever the source.
    assert.equal(title(history, 'queue'), 'Queue size (images waiting)');
    // No pod with a network of its own: the chart says so.
    const network = specsOf(history).find((s) => s.metric === 'container-network')!;
    assert.deepEqual(
      network.lines(history, 0, () => false),
      [],
    );
    assert.match(network.emptyNote ?? '', /no pod has a network interface of its own/i);
  });
});

describe('the notices', () => {
  const healthy: MetricsHealth = {
    redis: { state: 'connected', since: '2026-03-01T12:00:00Z', error: null },
    stalePods: [],
    function: { source: 'runtime', errors: [] },
  };

  it('say nothing while every source is fine', () => {
    assert.deepEqual(noticeTexts(healthy, 'pod-a'), { redis: null, 'stale-pods': null, function: null });
    assert.deepEqual(noticeTexts(null, null), { redis: null, 'stale-pods': null, function: null });
  });

  it('say which source fails, since when, and why', () => {
    const texts = noticeTexts(
      {
        redis: { state: 'unreachable', since: '2026-03-01T12:00:00Z', error: 'connect ECONNREFUSED 127.0.0.1:6379' },
        stalePods: [{ pod: 'pod-b', node: 'n1', lastSeenAt: '2026-03-01T12:00:05Z' }],
        function: {
          source: 'runtime',
          errors: [
            { pod: 'pod-a', error: "KeyError: 'x'", kind: 'exception', at: '2026-03-01T12:00:07Z', handler: 'usermodule.handler' },
            { pod: 'pod-b', error: "KeyError: 'x'", kind: 'exception', at: '2026-03-01T12:00:08Z', handler: 'usermodule.handler' },
          ],
        },
      },
      'pod-a',
    );
    assert.match(texts.redis ?? '', /^Redis is unreachable from pod-a since .+ \(connect ECONNREFUSED 127\.0\.0\.1:6379\)/);
    assert.match(texts['stale-pods'] ?? '', /^No new snapshot from pod-b since /);
    assert.match(texts.function ?? '', /^The function fails: KeyError: 'x' \(exception\), last at .+, for pod-a, pod-b\.$/, 'one sentence for one error');
  });
});
