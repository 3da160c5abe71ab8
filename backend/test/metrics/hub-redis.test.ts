/** The hub against the machine's real Redis, each test under its own key prefix and channel. */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createMetricsHub, type MetricsEvent, type MetricsHub } from '../../src/metrics/index.js';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';
import { countingAppStats, pythonTypes, silentLogger, waitFor } from './helpers.js';

const PERIOD = 0.2;
const redis = new Redis(TEST_REDIS_URL);
const hubs: MetricsHub[] = [];

function hub(prefix: string, podName: string, extra: { functionOutputKey?: string } = {}): MetricsHub {
  const h = createMetricsHub({
    podName,
    redisUrl: TEST_REDIS_URL,
    periodSeconds: PERIOD,
    appStats: countingAppStats(),
    keyPrefix: `${prefix}:metrics`,
    channel: `${prefix}:metrics`,
    logger: silentLogger,
    ...extra,
  });
  hubs.push(h);
  return h;
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.stop()));
});

after(() => {
  redis.disconnect();
});

describe('metrics hub with Redis', () => {
  it('writes metrics:<pod> with a TTL of three periods and publishes the same text on the channel', async () => {
    const prefix = uniquePrefix('metrics-pub');
    const key = `${prefix}:metrics:pod-a`;
    const subscriber = new Redis(TEST_REDIS_URL);
    try {
      const messages: { text: string; pttl: number; stored: string | null }[] = [];
      await subscriber.subscribe(`${prefix}:metrics`);
      subscriber.on('message', (_channel: string, text: string) => {
        // Read the key's TTL as soon as the publish arrives: it was just set.
        void Promise.all([redis.pttl(key), redis.get(key)]).then(([pttl, stored]) => messages.push({ text, pttl, stored }));
      });
      const h = hub(prefix, 'pod-a');
      h.start();
      const first = await waitFor('a published snapshot', () => messages[0]);
      const snapshot = JSON.parse(first.text) as Record<string, unknown>;
      assert.equal(snapshot.pod, 'pod-a');
      assert.equal(first.stored, first.text, 'the key holds what was published');
      assert.ok(first.pttl > 0 && first.pttl <= 3 * PERIOD * 1000, `pttl ${first.pttl}`);
      assert.ok(first.pttl > 1.5 * PERIOD * 1000, `pttl ${first.pttl} should be close to three periods`);
      // The published text keeps the float types.
      assert.equal(pythonTypes(first.text)['virtual_memory-percent'], 'float');
      assert.equal(pythonTypes(first.text)['virtual_memory-total'], 'int');
      // And it keeps coming, once a period.
      await waitFor('more snapshots', () => messages.length >= 3);
    } finally {
      subscriber.disconnect();
    }
  });

  it('lets the key expire after stop', async () => {
    const prefix = uniquePrefix('metrics-expire');
    const key = `${prefix}:metrics:pod-x`;
    const h = hub(prefix, 'pod-x');
    h.start();
    await waitFor('the key', async () => (await redis.exists(key)) === 1);
    await h.stop();
    await waitFor('the key to expire', async () => (await redis.exists(key)) === 0, 3 * PERIOD * 1000 + 3000);
  });

  it('two hubs with distinct pod names see each other', async () => {
    const prefix = uniquePrefix('metrics-two');
    const a = hub(prefix, 'pod-a');
    const b = hub(prefix, 'pod-b');
    a.start();
    b.start();
    const pods = (h: MetricsHub) =>
      h
        .latest()
        .map((m) => m.pod)
        .join(',');
    await waitFor('a to see both', () => pods(a) === 'pod-a,pod-b');
    await waitFor('b to see both', () => pods(b) === 'pod-a,pod-b');
    const other = b.latest().find((m) => m.pod === 'pod-a')!;
    assert.equal(other.snapshot['app-total_threads'], 4);
    // No runtime configured: derived figures are computed in-process for every pod.
    assert.equal(typeof other.derived?.percentage_memory_caching, 'number');
    assert.equal(a.status().redisConnected, true);
    assert.equal(a.source, 'redis');
  });

  it('loads existing snapshots on start and drops pods that stop publishing', async () => {
    const prefix = uniquePrefix('metrics-scan');
    // A pod that published once and died: its key outlives it by a little.
    const ghost = { timestamp: '2030-01-01 00:00:00.000000', pod: 'ghost', 'cpu_percent-0': 1.5 };
    await redis.set(`${prefix}:metrics:ghost`, JSON.stringify(ghost), 'PX', 2000);
    // Not a snapshot: must be ignored, not break the view.
    await redis.set(`${prefix}:metrics:junk`, 'not json', 'PX', 2000);
    const h = hub(prefix, 'pod-live');
    const events: MetricsEvent[] = [];
    h.subscribe((e) => events.push(e));
    h.start();
    await waitFor('the ghost from SCAN', () => h.latest().some((m) => m.pod === 'ghost'));
    assert.ok(!h.latest().some((m) => m.pod === 'junk'));
    await waitFor('the ghost to be dropped', () => events.some((e) => e.type === 'expired' && e.pod === 'ghost'));
    assert.ok(!h.latest().some((m) => m.pod === 'ghost'));
    assert.ok(h.latest().some((m) => m.pod === 'pod-live'));
  });

  it('reads derived figures from the function runtime output key per pod', async () => {
    const prefix = uniquePrefix('metrics-derived');
    const outputKey = `${prefix}:output`;
    const h = hub(prefix, 'pod-d', { functionOutputKey: outputKey });
    const derivedEvents: MetricsEvent[] = [];
    h.subscribe((e) => {
      if (e.type === 'derived') derivedEvents.push(e);
    });
    h.start();
    await waitFor('own snapshot', () => h.latest().length === 1);
    assert.equal(h.latest()[0]!.derived, null, 'nothing computed locally when a runtime is configured');
    await redis.set(`${outputKey}:pod-d`, '{"percentage_memory_caching": 12.0, "moving_average_cpu_percent-0": 3.5}', 'EX', 30);
    const entry = await waitFor('derived figures', () => h.latest().find((m) => m.derived !== null));
    assert.deepEqual(entry.derived, { percentage_memory_caching: 12, 'moving_average_cpu_percent-0': 3.5 });
    assert.ok(derivedEvents.length >= 1);
  });
});
