/** The embedded default: no Redis, snapshots and derived figures flow in-process. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetricsHub, type MetricsEvent } from '../../src/metrics/index.js';
import { PodView } from '../../src/metrics/pod-view.js';
import { countingAppStats, silentLogger, waitFor } from './helpers.js';

describe('metrics hub without Redis', () => {
  it('yields snapshots with derived figures from the default handler', async () => {
    const hub = createMetricsHub({ podName: 'solo', periodSeconds: 0.2, appStats: countingAppStats(), logger: silentLogger });
    const events: MetricsEvent[] = [];
    const unsubscribe = hub.subscribe((e) => events.push(e));
    hub.start();
    try {
      await waitFor('three snapshots', () => events.filter((e) => e.type === 'snapshot').length >= 3);
      assert.equal(hub.source, 'in-process');
      assert.equal(hub.status().redisConnected, null);
      const [entry] = hub.latest();
      assert.ok(entry);
      assert.equal(entry.pod, 'solo');
      assert.equal(entry.snapshot.pod, 'solo');
      assert.ok(!Number.isNaN(Date.parse(entry.receivedAt)));
      const derived = entry.derived!;
      assert.ok(derived, 'derived figures present');
      for (const key of ['percentage_outgoing_bytes', 'percentage_memory_caching', 'moving_average_cpu_percent-0']) {
        assert.equal(typeof derived[key], 'number', key);
      }
      // The pipeline processes 3 images per period in this stand-in.
      assert.ok((entry.snapshot['app-throughput'] as number) > 0);
      // Listeners get each snapshot with its derived figures.
      const last = events.filter((e) => e.type === 'snapshot').at(-1)!;
      assert.ok(last.type === 'snapshot' && last.metrics.derived !== null);
      // Nothing to report on the sources: no Redis to lose, no other pod, the bundled handler works.
      const healthy = { redis: { state: 'not-configured', since: null, error: null }, stalePods: [], function: { source: 'in-process', errors: [] } };
      assert.deepEqual(hub.health(), healthy);
      assert.deepEqual(hub.overview(60).health, healthy);
      assert.equal(hub.overview(60).keyPrefix, '');
      const healthEvents = events.filter((e) => e.type === 'health');
      assert.equal(healthEvents.length, 1, 'one health event, then none while nothing changes');
    } finally {
      unsubscribe();
      await hub.stop();
    }
  });

  it('stops cleanly even when stopped before the first snapshot', async () => {
    const hub = createMetricsHub({ podName: 'brief', periodSeconds: 0.2, appStats: countingAppStats(), logger: silentLogger });
    hub.start();
    await hub.stop();
    await hub.stop();
    assert.deepEqual(hub.latest(), []);
  });

  it('rejects a non-positive period', () => {
    assert.throws(() => createMetricsHub({ podName: 'x', periodSeconds: 0, appStats: countingAppStats() }), RangeError);
  });
});

describe('pod view', () => {
  const snap = (pod: string, timestamp: string) => ({ pod, timestamp, 'cpu_percent-0': 1 });

  it('keeps the newest snapshot per pod and ignores repeats and older ones', () => {
    const view = new PodView(600);
    assert.ok(view.putSnapshot(snap('a', '2030-01-01 00:00:01.000000'), 0));
    assert.equal(view.putSnapshot(snap('a', '2030-01-01 00:00:01.000000'), 10), undefined);
    assert.equal(view.putSnapshot(snap('a', '2030-01-01 00:00:00.500000'), 10), undefined);
    assert.ok(view.putSnapshot(snap('a', '2030-01-01 00:00:02.000000'), 20));
    assert.equal(view.list(20)[0]!.snapshot.timestamp, '2030-01-01 00:00:02.000000');
  });

  it('drops pods not heard from for longer than the expiry', () => {
    const view = new PodView(600);
    view.putSnapshot(snap('old', '2030-01-01 00:00:00.000000'), 0);
    view.putSnapshot(snap('new', '2030-01-01 00:00:00.000000'), 500);
    assert.deepEqual(
      view.list(700).map((m) => m.pod),
      ['new'],
    );
    assert.deepEqual(view.expire(700), ['old']);
    assert.deepEqual(view.pods(), ['new']);
  });

  it('reports derived figures only when they change', () => {
    const view = new PodView(600);
    view.putSnapshot(snap('a', '2030-01-01 00:00:00.000000'), 0);
    assert.ok(view.putDerived('a', { x: 1 }));
    assert.equal(view.putDerived('a', { x: 1 }), undefined);
    assert.equal(view.putDerived('unknown', { x: 1 }), undefined);
    // A newer snapshot keeps the last derived figures until new ones come.
    view.putSnapshot(snap('a', '2030-01-01 00:00:01.000000'), 10);
    assert.deepEqual(view.list(10)[0]!.derived, { x: 1 });
  });
});
