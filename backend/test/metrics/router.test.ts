/** The HTTP routes over a real express app on a free port. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metricsRouter } from '../../src/http/routes/metrics.js';
import { createMetricsHub, type MetricsHub, type MetricsListener } from '../../src/metrics/index.js';
import { countingAppStats, mountApi, serve, silentLogger, SseClient, waitFor } from './helpers.js';

const PERIOD = 0.2;

/** The hub, with a count of live subscriptions so the test can see the route clean up. */
function countingSubscriptions(hub: MetricsHub): { hub: MetricsHub; live: () => number } {
  let live = 0;
  return {
    live: () => live,
    hub: {
      ...hub,
      subscribe(listener: MetricsListener) {
        live += 1;
        const unsubscribe = hub.subscribe(listener);
        let done = false;
        return () => {
          if (!done) live -= 1;
          done = true;
          unsubscribe();
        };
      },
    },
  };
}

describe('metrics routes', () => {
  let hub: MetricsHub;
  let counted: ReturnType<typeof countingSubscriptions>;
  let server: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    hub = createMetricsHub({ podName: 'web-pod', periodSeconds: PERIOD, appStats: countingAppStats(), logger: silentLogger });
    counted = countingSubscriptions(hub);
    server = await serve(mountApi(metricsRouter(counted.hub, { heartbeatMs: 100 })));
  });

  after(async () => {
    await server.close();
    await hub.stop();
  });

  it('GET /api/v1/metrics lists the pods with snapshot, derived and receivedAt', async () => {
    const empty = await fetch(`${server.baseUrl}/api/v1/metrics`);
    assert.equal(empty.status, 200);
    assert.deepEqual(((await empty.json()) as { pods: unknown[] }).pods, []);

    hub.start();
    await waitFor('a snapshot', () => hub.latest().length > 0);
    const res = await fetch(`${server.baseUrl}/api/v1/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const text = await res.text();
    const body = JSON.parse(text) as {
      pods: { pod: string; snapshot: Record<string, unknown>; derived: Record<string, unknown>; receivedAt: string }[];
      periodSeconds: number;
      source: string;
    };
    assert.equal(body.periodSeconds, PERIOD);
    assert.equal(body.source, 'in-process');
    assert.equal(body.pods.length, 1);
    const [entry] = body.pods;
    assert.equal(entry!.pod, 'web-pod');
    assert.equal(entry!.snapshot.pod, 'web-pod');
    assert.equal(typeof entry!.derived.percentage_memory_caching, 'number');
    assert.ok(!Number.isNaN(Date.parse(entry!.receivedAt)));
    // Floats keep their decimal point in the response too.
    assert.match(text, /"virtual_memory-percent":-?\d+(\.\d+|e)/);
    assert.match(text, /"cpu_percent-0":\d+\.\d+/);
    assert.match(text, /"virtual_memory-total":\d+[,}]/);
  });

  it('GET /api/v1/metrics/stream sends the current state, then snapshots as they come, then cleans up', async () => {
    hub.start();
    await waitFor('a snapshot', () => hub.latest().length > 0);
    const before = counted.live();
    const client = await SseClient.connect(`${server.baseUrl}/api/v1/metrics/stream`);
    try {
      assert.equal(client.status, 200);
      assert.match(client.contentType, /text\/event-stream/);
      // The current state arrives at once, before any new snapshot is taken.
      const initial = await waitFor('the current state', () => client.events.find((e) => e.event === 'snapshot'), 2000);
      const first = JSON.parse(initial.data) as { pod: string; snapshot: { timestamp: string }; derived: unknown };
      assert.equal(first.pod, 'web-pod');
      assert.ok(first.derived !== undefined);
      assert.match(initial.data, /"cpu_percent-0":\d+\.\d+/);
      // Then a new snapshot within about a period (generous for a loaded machine).
      await waitFor(
        'a newer snapshot',
        () => client.events.some((e) => e.event === 'snapshot' && (JSON.parse(e.data) as typeof first).snapshot.timestamp !== first.snapshot.timestamp),
        PERIOD * 1000 + 2000,
      );
      await waitFor('a heartbeat', () => client.comments.includes('heartbeat'), 2000);
      assert.equal(counted.live(), before + 1);
    } finally {
      client.close();
    }
    await waitFor('the listener to be removed', () => counted.live() === before);
  });

  it('answers unknown paths under the router with a 404 from express, not a crash', async () => {
    const res = await fetch(`${server.baseUrl}/api/v1/metrics/nope`);
    assert.equal(res.status, 404);
  });
});
