/** The metrics window's series logic, in Node. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METRICS, MetricsHistory } from '../../src/renderer/metrics/history.js';
import type { MetricsSample } from '../../src/shared/models.js';

const metric = (id: string) => METRICS.find((m) => m.id === id)!;

function sample(pod: string, timestamp: string, snapshot: Record<string, number>, derived: Record<string, number> | null = null): MetricsSample {
  return { pod, snapshot: { timestamp, pod, ...snapshot }, derived, receivedAt: new Date().toISOString() };
}

describe('metrics history', () => {
  it('charts the six figures, completing a snapshot with its derived figures', () => {
    const history = new MetricsHistory();
    // The pod's clock is a year behind this computer's: points go where they arrived.
    const t = '2025-03-01 12:00:00.000000';
    const x = Date.parse('2026-03-01T12:00:00Z');
    history.apply({ type: 'snapshot', sample: sample('pod-a', t, { 'app-queue_size': 4, 'app-active_threads': 2, 'app-throughput': 7.5 }) }, x);
    assert.deepEqual(history.points(metric('queue'), 'pod-a', 0), [{ x, y: 4 }]);
    assert.deepEqual(history.points(metric('cpu'), 'pod-a', 0), [{ x, y: null }], 'no derived figures yet: a gap');
    history.apply({
      type: 'derived',
      sample: sample('pod-a', t, { 'app-queue_size': 4 }, { 'moving_average_cpu_percent-0': 40, 'moving_average_cpu_percent-1': 60, percentage_memory_caching: 12.5, percentage_outgoing_bytes: 80 }),
    }, x + 300);
    assert.equal(history.sampleCount, 1, 'the same snapshot, completed');
    assert.deepEqual(history.points(metric('cpu'), 'pod-a', 0), [{ x, y: 50 }], 'mean over the cores, at the first arrival');
    assert.equal(history.points(metric('memory'), 'pod-a', 0)[0]!.y, 12.5);
    assert.equal(history.points(metric('outgoing'), 'pod-a', 0)[0]!.y, 80);
    assert.equal(history.points(metric('threads'), 'pod-a', 0)[0]!.y, 2);
    assert.equal(history.points(metric('throughput'), 'pod-a', 0)[0]!.y, 7.5);
  });

  it('keeps pods apart, drops expired ones, and notices silent ones', () => {
    const history = new MetricsHistory();
    const now = Date.parse('2026-03-01T12:00:10Z');
    history.apply({ type: 'snapshot', sample: sample('b', '2026-03-01 12:00:00.000000', {}) }, now - 10_000);
    history.apply({ type: 'snapshot', sample: sample('a', '2026-03-01 12:00:09.000000', {}) }, now);
    assert.deepEqual(history.podNames(), ['a', 'b']);
    assert.deepEqual(history.livePods(now, 5000), ['a'], 'b has been silent for 10 s');
    history.apply({ type: 'expired', pod: 'a' });
    assert.deepEqual(history.podNames(), ['b']);
  });

  it('forgets samples older than the longest time span', () => {
    const history = new MetricsHistory(60_000);
    const base = Date.parse('2026-03-01T12:00:00Z');
    for (let i = 0; i < 10; i++) {
      const time = new Date(base + i * 20_000).toISOString().replace('T', ' ').replace('Z', '');
      history.apply({ type: 'snapshot', sample: sample('a', time, { 'app-queue_size': i }) }, base + i * 20_000);
    }
    assert.ok(history.sampleCount <= 4);
    assert.deepEqual(history.points(metric('queue'), 'a', base + 150_000).map((p) => p.y), [8, 9]);
  });
});
