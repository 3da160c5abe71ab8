/**
 * The metrics history: the in-process ring, the capped Redis stream
 * `metrics-history:<pod>` against the machine's real Redis, a hub that starts
 * late reading the hour before it back, and the routes serving it.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { metricsRouter } from '../../src/http/routes/metrics.js';
import { HistoryRing, historyCapacity } from '../../src/metrics/history-ring.js';
import { createMetricsHub, type MetricsHub, type MetricsOverview } from '../../src/metrics/index.js';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';
import { countingAppStats, mountApi, serve, silentLogger, SseClient, waitFor } from './helpers.js';

const redis = new Redis(TEST_REDIS_URL);
const hubs: MetricsHub[] = [];

function hub(podName: string, periodSeconds: number, prefix?: string): MetricsHub {
  const h = createMetricsHub({
    podName,
    periodSeconds,
    appStats: countingAppStats(),
    logger: silentLogger,
    ...(prefix === undefined ? {} : { redisUrl: TEST_REDIS_URL, keyPrefix: `${prefix}:metrics`, channel: `${prefix}:metrics` }),
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

const snap = (pod: string, second: number) => ({
  pod,
  node: 'n1',
  timestamp: `2030-01-01 00:00:${String(second).padStart(2, '0')}.000000`,
  'container-cpu_percent': second,
});

describe('history ring', () => {
  it("keeps each pod's samples in order, once each, within its capacity and the span asked for", () => {
    const ring = new HistoryRing(3, 60_000);
    for (let s = 0; s < 5; s++) ring.add(snap('a', s), null, 1000 + s * 1000);
    ring.add(snap('a', 4), null, 9000);
    ring.add(snap('b', 1), { x: 1 }, 2000);
    const lines = ring.read(10_000, (pod) => pod === 'a', 6000);
    assert.deepEqual(
      lines.map((l) => [l.pod, l.gone, l.node]),
      [
        ['a', false, 'n1'],
        ['b', true, 'n1'],
      ],
    );
    assert.deepEqual(
      lines[0]!.samples.map((s) => s.snapshot['container-cpu_percent']),
      [2, 3, 4],
      'capacity 3, no repeat',
    );
    assert.equal(lines[0]!.lastSeenAt, new Date(5000).toISOString());
    // Only samples within the span; a pod with none there is left out.
    assert.deepEqual(
      ring.read(1500, () => true, 6000).map((l) => l.pod),
      ['a'],
    );
    assert.equal(ring.read(2000, () => true, 6000)[0]!.samples.length, 2, 'the span includes its start');
  });

  it('merges samples read back out of order, completes derived figures, and prunes old pods', () => {
    const ring = new HistoryRing(10, 5000);
    ring.add(snap('a', 5), null, 5000);
    ring.merge([
      { snapshot: snap('a', 3), derived: null, atMs: 3000 },
      { snapshot: snap('a', 5), derived: null, atMs: 5000 },
    ]);
    ring.setDerived('a', snap('a', 5).timestamp, { y: 2 });
    const [line] = ring.read(10_000, () => true, 6000);
    assert.deepEqual(
      line!.samples.map((s) => [s.snapshot['container-cpu_percent'], s.derived]),
      [
        [3, null],
        [5, { y: 2 }],
      ],
    );
    ring.prune(20_000);
    assert.deepEqual(
      ring.read(60_000, () => true, 20_000),
      [],
    );
  });

  it('holds about an hour of snapshots at the configured period', () => {
    assert.equal(historyCapacity(5), 721);
    assert.equal(historyCapacity(1), 3601);
    assert.equal(historyCapacity(3600), 2);
    assert.equal(historyCapacity(0.1), 7200, 'bounded for very short periods');
  });
});

describe('history in-process', () => {
  it("serves the hub's own snapshots, oldest first, with their derived figures", async () => {
    // Half a second: a pod counts as gone after three silent periods, which a loaded machine's late tick must not reach.
    const h = hub('solo', 0.5);
    h.start();
    await waitFor('four snapshots', () => (h.history(60).pods[0]?.samples.length ?? 0) >= 4, 10_000);
    const { pods, spanSeconds, serverTime } = h.history(60);
    assert.equal(spanSeconds, 60);
    assert.ok(Math.abs(Date.parse(serverTime) - Date.now()) < 5000);
    assert.equal(pods.length, 1);
    const [line] = pods;
    assert.equal(line!.pod, 'solo');
    assert.equal(line!.gone, false);
    assert.equal(typeof line!.node, 'string');
    const stamps = line!.samples.map((s) => s.snapshot.timestamp);
    assert.deepEqual([...stamps].sort(), stamps, 'oldest first');
    assert.ok(line!.samples.every((s) => typeof s.snapshot['container-cpu_percent'] === 'number'));
    assert.ok(line!.samples.every((s) => s.derived !== null && typeof s.derived.percentage_memory_caching === 'number'));
  });
});

describe('history in Redis', () => {
  it('appends every snapshot to metrics-history:<pod>, capped by MAXLEN ~ an hour of periods, expiring after an hour', async () => {
    const prefix = uniquePrefix('history-xadd');
    const key = `${prefix}:metrics-history:pod-a`;
    // An over-full stream (as if the cap were missing): the next append must trim it to about an hour.
    const filler = redis.pipeline();
    for (let i = 0; i < 5000; i++) filler.xadd(key, '*', 'snapshot', '{}', 'derived', '');
    await filler.exec();
    const h = hub('pod-a', 1, prefix);
    h.start();
    try {
      await waitFor("the hub's first entry", async () => {
        const [last] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
        return last !== undefined && last[1][1] !== '{}';
      });
      const length = await redis.xlen(key);
      const cap = historyCapacity(1);
      // Approximate trimming removes whole macro nodes (100 entries by default), never below the cap.
      assert.ok(length >= cap && length <= cap + 200, `XLEN ${length}, cap ${cap}`);
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 3590_000 && ttl <= 3600_000 + 3000, `PTTL ${ttl}`);
      const [[, fields]] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [[string, string[]]];
      const snapshot = JSON.parse(fields[1]!) as Record<string, unknown>;
      assert.equal(fields[0], 'snapshot');
      assert.equal(snapshot.pod, 'pod-a');
      assert.equal(typeof snapshot['container-memory_used'], 'number');
      assert.equal(fields[2], 'derived');
      assert.equal(typeof (JSON.parse(fields[3]!) as Record<string, unknown>).percentage_memory_caching, 'number');
    } finally {
      await redis.del(key);
    }
  });

  it('a hub that starts later reads the history back, and a stopped pod keeps its line, marked gone', async () => {
    const prefix = uniquePrefix('history-late');
    const early = hub('pod-early', 0.5, prefix);
    early.start();
    await waitFor("five entries in the early pod's stream", async () => (await redis.xlen(`${prefix}:metrics-history:pod-early`)) >= 5, 10_000);
    await early.stop();
    const stoppedAt = Date.now();

    const late = hub('pod-late', 0.5, prefix);
    late.start();
    const lines = await waitFor(
      "both pods in the late hub's history",
      () => {
        const pods = late.history(60).pods;
        return pods.length === 2 && pods.every((p) => p.samples.length >= 2) ? pods : undefined;
      },
      10_000,
    );
    const [earlyLine, lateLine] = lines;
    assert.equal(earlyLine!.pod, 'pod-early');
    assert.ok(earlyLine!.samples.length >= 5, `${earlyLine!.samples.length} samples read back`);
    assert.ok(Date.parse(earlyLine!.lastSeenAt) <= stoppedAt + 1000);
    assert.ok(
      earlyLine!.samples.every((s) => s.derived !== null),
      'derived figures come back with the snapshots',
    );
    assert.equal(lateLine!.pod, 'pod-late');
    assert.equal(lateLine!.gone, false);
    // The early pod's key is gone after three periods; its line stays, marked gone.
    await waitFor('the early pod to be gone', () => late.history(60).pods.find((p) => p.pod === 'pod-early')?.gone === true, 10_000);
    assert.ok(late.latest().every((m) => m.pod !== 'pod-early'));
    // Outside the span it is no longer there. Real time: the span is measured
    // against the timestamps a real hub wrote to Redis.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      late.history(1).pods.map((p) => p.pod),
      ['pod-late'],
    );
    await redis.del(`${prefix}:metrics-history:pod-early`, `${prefix}:metrics-history:pod-late`);
  });
});

describe('history over HTTP', () => {
  it('GET /api/v1/metrics?span= serves it; the stream sends it first; a bad span is a 400 and changes nothing', async () => {
    // A period of a second: a loaded machine's late tick must not make the pod look gone (three periods).
    const h = hub('web', 1);
    const server = await serve(mountApi(metricsRouter(h, { heartbeatMs: 1000 })));
    try {
      h.start();
      await waitFor('three snapshots', () => (h.history(60).pods[0]?.samples.length ?? 0) >= 3, 10_000);
      const res = await fetch(`${server.baseUrl}/api/v1/metrics?span=60`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as MetricsOverview;
      assert.equal(body.spanSeconds, 60);
      assert.equal(body.pods[0]!.pod, 'web');
      assert.equal(body.history[0]!.pod, 'web');
      assert.ok(body.history[0]!.samples.length >= 3);
      assert.equal(((await (await fetch(`${server.baseUrl}/api/v1/metrics`)).json()) as MetricsOverview).spanSeconds, 300, 'default span');

      for (const bad of ['abc', '-5', '1.5', '3601', '']) {
        const refused = await fetch(`${server.baseUrl}/api/v1/metrics?span=${bad}`);
        assert.equal(refused.status, 400, `span=${bad}`);
        const error = (await refused.json()) as { error: string; code: string };
        assert.equal(error.code, 'INVALID_SPAN');
        assert.match(error.error, /span must be a whole number of seconds from 0 to 3600/);
      }
      assert.equal((await fetch(`${server.baseUrl}/api/v1/metrics/stream?span=x`)).status, 400);

      const client = await SseClient.connect(`${server.baseUrl}/api/v1/metrics/stream?span=60`);
      try {
        const first = await waitFor('the first event', () => client.events[0]);
        assert.equal(first.event, 'history');
        const history = JSON.parse(first.data) as { spanSeconds: number; pods: { pod: string; samples: unknown[] }[] };
        assert.equal(history.spanSeconds, 60);
        assert.equal(history.pods[0]!.pod, 'web');
        assert.ok(history.pods[0]!.samples.length >= 3);
        assert.match(first.data, /"container-cpu_percent":\d+\.\d+/, 'floats stay floats');
        await waitFor('then the current state', () => client.events.find((e) => e.event === 'snapshot'));
      } finally {
        client.close();
      }
      assert.equal(h.history(60).pods.length, 1, 'the refused requests changed nothing');
    } finally {
      await server.close();
    }
  });
});
