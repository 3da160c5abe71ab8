/**
 * Redis unreachable or restarting must cost the image pipeline nothing, and
 * publishing must come back by itself.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createMetricsHub } from '../../src/metrics/index.js';
import { countingAppStats, freePort, PrivateRedis, silentLogger, waitFor } from './helpers.js';

const PERIOD = 0.2;

/**
 * A stand-in for the image pipeline: short async steps, each measured. The
 * bound is generous on purpose; the point is that nothing waits on Redis
 * (a blocked loop would stall for connect timeouts, i.e. seconds).
 */
async function pipelineStandIn(steps: number): Promise<number> {
  let worst = 0;
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    // Real time: how late a real 10 ms timer fires is what shows a blocked event loop.
    await sleep(10);
    worst = Math.max(worst, performance.now() - start - 10);
  }
  return worst;
}

describe('metrics hub when Redis misbehaves', () => {
  const servers: PrivateRedis[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.dispose()));
  });

  it('keeps running without throwing when Redis is unreachable, and does not hold up the pipeline', async () => {
    const port = await freePort();
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => {
      unhandled.push(err);
    };
    process.on('unhandledRejection', onUnhandled);
    const hub = createMetricsHub({
      podName: 'lonely',
      redisUrl: `redis://127.0.0.1:${port}`,
      periodSeconds: PERIOD,
      appStats: countingAppStats(),
      keyPrefix: 'unreachable-test:metrics',
      channel: 'unreachable-test:metrics',
      logger: silentLogger,
    });
    try {
      assert.doesNotThrow(() => hub.start());
      const worstLagMs = await pipelineStandIn(100);
      assert.ok(worstLagMs < 1000, `pipeline step delayed by ${worstLagMs} ms`);
      // Snapshots still flow in-process.
      const own = await waitFor('own snapshot', () => hub.latest().find((m) => m.pod === 'lonely'));
      assert.equal(own.snapshot.pod, 'lonely');
      assert.equal(hub.status().redisConnected, false);
      assert.equal(hub.source, 'redis');
      assert.deepEqual(unhandled, []);
    } finally {
      await hub.stop();
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('resumes publishing by itself after Redis restarts on the same port', async () => {
    const server = new PrivateRedis(await freePort());
    servers.push(server);
    await server.start();
    const key = 'restart-test:metrics:phoenix';
    const hub = createMetricsHub({
      podName: 'phoenix',
      redisUrl: server.url,
      periodSeconds: PERIOD,
      appStats: countingAppStats(),
      keyPrefix: 'restart-test:metrics',
      channel: 'restart-test:metrics',
      logger: silentLogger,
    });
    const probe = (): Redis => {
      const r = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      return r;
    };
    hub.start();
    try {
      let client = probe();
      await waitFor('the first publish', async () => (await client.exists(key)) === 1);
      client.disconnect();

      await server.stop();
      await waitFor('the hub to notice', () => hub.status().redisConnected === false);
      // While Redis is away, the hub keeps taking snapshots.
      // The hub's view of the pods may be empty for a moment once Redis is gone: wait for its own snapshot.
      const during = (await waitFor('the own snapshot once Redis is gone', () => hub.latest()[0])).snapshot.timestamp;
      await waitFor(
        'a snapshot while Redis is down',
        () => hub.latest()[0]?.snapshot.timestamp !== undefined && hub.latest()[0]?.snapshot.timestamp !== during,
      );
      const pipelineLag = await pipelineStandIn(30);
      assert.ok(pipelineLag < 1000, `pipeline step delayed by ${pipelineLag} ms`);

      // A fresh server has no data: the key reappearing proves publishing resumed.
      await server.start();
      client = probe();
      try {
        await waitFor('publishing to resume', async () => (await client.exists(key)) === 1, 10_000);
        const sub = probe();
        try {
          // And the subscription is back too: our own snapshots arrive on the channel.
          const received = new Promise<string>((resolve) => sub.on('message', (_c: string, text: string) => resolve(text)));
          await sub.subscribe('restart-test:metrics');
          const text = await received;
          assert.equal((JSON.parse(text) as { pod: string }).pod, 'phoenix');
        } finally {
          sub.disconnect();
        }
        // The hub's own subscription is back: another pod's snapshot reaches it.
        const visitor = JSON.stringify({ timestamp: '2030-01-01 00:00:00.000000', pod: 'visitor', 'cpu_percent-0': 2.5 });
        await waitFor(
          'the hub to hear other pods again',
          async () => {
            await client.publish('restart-test:metrics', visitor);
            return hub.latest().some((m) => m.pod === 'visitor');
          },
          10_000,
        );
        assert.equal(hub.status().redisConnected, true);
      } finally {
        client.disconnect();
      }
    } finally {
      await hub.stop();
    }
  });
});
