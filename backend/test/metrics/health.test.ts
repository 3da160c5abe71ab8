/**
 * Data-source health in GET /api/v1/metrics and its stream: Redis going away
 * and coming back, a pod that stops publishing without saying goodbye (stale)
 * against one that stops cleanly, and the function runtime's `:error` keys.
 * A private redis-server on a free port, so stopping it touches nobody else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { metricsOverviewSchema, metricsStreamEvents } from '../../src/contract/metrics.js';
import { createMetricsHub } from '../../src/metrics/index.js';
import { openEventStream, startTestBackend, type TestBackend } from '../support/backend.js';
import { countingAppStats, freePort, PrivateRedis, silentLogger, waitFor } from './helpers.js';

const PERIOD = 0.3;

interface Health {
  redis: { state: string; since: string | null; error: string | null };
  stalePods: { pod: string; lastSeenAt: string }[];
  function: { source: string; errors: { pod: string | null; error: string; kind: string; at: string }[] };
}

describe('metrics health', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let backend: TestBackend;

  /** The answer's health, the whole answer checked against the contract on the way. */
  const health = async (): Promise<Health> => {
    const res = await fetch(new URL('/api/v1/metrics?span=60', backend.url));
    assert.equal(res.status, 200);
    return metricsOverviewSchema.parse(await res.json()).health;
  };

  before(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    client = new Redis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    backend = await startTestBackend({ REDIS_URL: redis.url, METRICS_PERIOD: String(PERIOD), POD_NAME: 'health-pod', FUNCTION_OUTPUT_KEY: 'derived' });
  });

  after(async () => {
    await backend?.close();
    client?.disconnect();
    await redis?.dispose();
  });

  it('says when Redis is unreachable, in the API and on the stream, and clears it when Redis is back', async () => {
    await waitFor('Redis connected', async () => (await health()).redis.state === 'connected');
    const stream = await openEventStream(new URL('/api/v1/metrics/stream', backend.url).toString());
    try {
      const first = await stream.next((e) => e.event === 'health');
      assert.equal((JSON.parse(first.data) as Health).redis.state, 'connected');
      // Every event so far is what the contract says it is.
      for (const e of stream.events) metricsStreamEvents[e.event as keyof typeof metricsStreamEvents].parse(JSON.parse(e.data));
      const downAt = Date.now();
      await redis.stop();
      const down = await stream.next((e) => e.event === 'health' && (JSON.parse(e.data) as Health).redis.state === 'unreachable');
      const downHealth = JSON.parse(down.data) as Health;
      assert.ok(downHealth.redis.since !== null && Date.parse(downHealth.redis.since) >= downAt - 1000, downHealth.redis.since ?? 'no since');
      assert.ok(downHealth.redis.error, 'the reason is given');
      assert.equal((await health()).redis.state, 'unreachable');
      await redis.start();
      // A later event than the outage's (the stream keeps every event, the first connected one too).
      const afterDown = (e: { event: string }) => stream.events.indexOf(e as (typeof stream.events)[number]) > stream.events.indexOf(down);
      const back = await stream.next((e) => e.event === 'health' && afterDown(e) && (JSON.parse(e.data) as Health).redis.state === 'connected', 20_000);
      assert.equal((JSON.parse(back.data) as Health).redis.error, null);
      assert.equal((await health()).redis.state, 'connected');
    } finally {
      stream.close();
    }
  });

  it('lists a pod that went silent as stale, and not one that stopped cleanly', async () => {
    const leaving = createMetricsHub({
      podName: 'leaving-pod',
      redisUrl: redis.url,
      periodSeconds: PERIOD,
      appStats: countingAppStats(),
      logger: silentLogger,
    });
    leaving.start();
    await waitFor('the backend to hear the leaving pod', async () => {
      const res = await fetch(new URL('/api/v1/metrics?span=60', backend.url));
      return ((await res.json()) as { history: { pod: string }[] }).history.some((p) => p.pod === 'leaving-pod');
    });
    await leaving.stop();
    // Then a pod that dies says nothing more: one snapshot, as a pod killed right after publishing leaves behind.
    const ghost = JSON.stringify({ timestamp: '2020-01-01 00:00:00.000000', pod: 'silent-pod', node: 'node-x', 'app-queue_size': 0 });
    await client.set('metrics:silent-pod', ghost, 'PX', Math.round(3 * PERIOD * 1000));
    await client.publish('metrics', ghost);
    // The leaving pod went quiet before the silent one: had it not said goodbye, it would be stale by now too.
    const h = await waitFor('the silent pod to turn stale', async () => {
      const current = await health();
      return current.stalePods.some((p) => p.pod === 'silent-pod') && current;
    });
    assert.deepEqual(
      h.stalePods.map((p) => p.pod),
      ['silent-pod'],
    );
    assert.ok(!Number.isNaN(Date.parse(h.stalePods[0]!.lastSeenAt)));
    // It comes back: no longer stale.
    const again = createMetricsHub({ podName: 'silent-pod', redisUrl: redis.url, periodSeconds: PERIOD, appStats: countingAppStats(), logger: silentLogger });
    again.start();
    try {
      await waitFor('the pod back to clear its staleness', async () => (await health()).stalePods.length === 0);
    } finally {
      await again.stop();
    }
  });

  it("shows the function's last error and when, until it is resolved or gone", async () => {
    const record = {
      error: "KeyError: 'virtual_memory-total'",
      kind: 'exception',
      at: new Date().toISOString(),
      input_key: 'metrics:health-pod',
      handler: 'usermodule.handler',
    };
    await client.set('derived:health-pod:error', JSON.stringify(record));
    const failing = await waitFor('the error record', async () => {
      const current = await health();
      return current.function.errors.length > 0 && current;
    });
    assert.equal(failing.function.source, 'runtime');
    assert.deepEqual(failing.function.errors, [{ pod: 'health-pod', error: record.error, kind: 'exception', at: record.at, handler: 'usermodule.handler' }]);
    // A function that does not even load is reported under the output key itself, for every pod.
    await client.set('derived:error', JSON.stringify({ ...record, error: 'SyntaxError: invalid syntax', kind: 'load', input_key: 'metrics:*' }));
    await waitFor('the load error', async () => (await health()).function.errors.some((e) => e.pod === null && e.kind === 'load'));
    await client.del('derived:error');
    // The runtime marks an error resolved after the next good call.
    await client.set('derived:health-pod:error', JSON.stringify({ ...record, resolved: true, resolved_at: new Date().toISOString() }));
    await waitFor('the resolved error to clear', async () => (await health()).function.errors.length === 0);
    // Junk under the key is not an error record: ignored, not a crash.
    await client.set('derived:health-pod:error', 'not json');
    await client.set('derived:health-pod', '{"percent-network-egress": 3.5}');
    await waitFor('the derived figures', async () => {
      const res = await fetch(new URL('/api/v1/metrics', backend.url));
      return ((await res.json()) as { pods: { derived: unknown }[] }).pods[0]?.derived !== null;
    });
    assert.deepEqual((await health()).function.errors, []);
  });
});
