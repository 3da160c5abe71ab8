/**
 * METRICS_KEY_PREFIX keeps two installations that share one Redis apart: two
 * backends of installation A and one of installation B on one (private)
 * Redis; each sees only its own installation's pods, every key and channel
 * it uses starts with its prefix, and it reads the function's output under
 * the same prefix (where the runtime, given the prefix, writes it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startTestBackend, type TestBackend } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, PrivateRedis, waitFor } from './helpers.js';

interface Overview {
  pods: { pod: string; derived: Record<string, unknown> | null }[];
  history: { pod: string }[];
}

async function overview(backend: TestBackend): Promise<Overview> {
  const res = await fetch(new URL('/api/v1/metrics?span=60', backend.url));
  assert.equal(res.status, 200);
  return (await res.json()) as Overview;
}

const podsOf = async (backend: TestBackend): Promise<string[]> => (await overview(backend)).pods.map((p) => p.pod);

describe('METRICS_KEY_PREFIX', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let monitor: Redis;
  let db: TestDatabase;
  const backends = new Map<string, TestBackend>();
  const channels = new Set<string>();

  before(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    client = new Redis(redis.url);
    // Every channel anything publishes on, to check the prefix covers them all.
    monitor = new Redis(redis.url);
    await monitor.psubscribe('*');
    monitor.on('pmessage', (_pattern: string, channel: string) => channels.add(channel));
    db = await createTestDatabase();
    const common = { REDIS_URL: redis.url, METRICS_PERIOD: '0.3', FUNCTION_OUTPUT_KEY: 'derived' };
    for (const [pod, prefix] of [
      ['a-1', 'inst-a:'],
      ['a-2', 'inst-a:'],
      ['b-1', 'inst-b/'],
    ] as const) {
      backends.set(pod, await startTestBackend({ ...common, POD_NAME: pod, METRICS_KEY_PREFIX: prefix }, db));
    }
  });

  after(async () => {
    for (const b of backends.values()) await b.close();
    await db?.drop();
    monitor?.disconnect();
    client?.disconnect();
    await redis?.dispose();
  });

  it('shows each installation only its own pods', async () => {
    await waitFor(
      'installation A to see both its pods',
      async () => {
        const [one, two] = await Promise.all([podsOf(backends.get('a-1')!), podsOf(backends.get('a-2')!)]);
        return one.join() === 'a-1,a-2' && two.join() === 'a-1,a-2';
      },
      20_000,
    );
    await waitFor('installation B to see its pod', async () => (await podsOf(backends.get('b-1')!)).join() === 'b-1', 20_000);
    // A few periods more: nothing of the other installation ever shows up, live or in the history.
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      for (const [pod, backend] of backends) {
        const o = await overview(backend);
        for (const p of [...o.pods.map((x) => x.pod), ...o.history.map((x) => x.pod)]) seen.add(`${pod}→${p}`);
      }
      // Real time: periods of real Redis-backed hubs must pass for a stray key to have a chance to show.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.deepEqual([...seen].sort(), ['a-1→a-1', 'a-1→a-2', 'a-2→a-1', 'a-2→a-2', 'b-1→b-1']);
  });

  it('writes and publishes only under its prefix', async () => {
    // Every key seen over a few periods (a snapshot key lives three periods, and a loaded machine may let one lapse).
    const seen = new Set<string>();
    const expected = ['inst-a:metrics:a-1', 'inst-a:metrics:a-2', 'inst-b/metrics:b-1', 'inst-a:metrics-history:a-2', 'inst-b/metrics-history:b-1'];
    await waitFor(
      "every pod's keys",
      async () => {
        for (const key of await client.keys('*')) seen.add(key);
        return expected.every((k) => seen.has(k));
      },
      20_000,
    );
    const outside = [...seen].filter((k) => !k.startsWith('inst-a:') && !k.startsWith('inst-b/'));
    assert.deepEqual(outside, [], 'no key outside the two prefixes');
    assert.deepEqual([...channels].sort(), ['inst-a:metrics', 'inst-b/metrics']);
  });

  it("reads the function's output under its prefix", async () => {
    // Where the runtime writes with REDIS_OUTPUT_KEY=derived and the same prefix.
    await client.set('inst-a:derived:a-1', JSON.stringify({ 'percent-network-egress': 42.5 }));
    await client.set('derived:a-1', JSON.stringify({ 'percent-network-egress': 1 }));
    const derived = await waitFor(
      'a-1 derived figures',
      async () => {
        const pod = (await overview(backends.get('a-2')!)).pods.find((p) => p.pod === 'a-1');
        return pod?.derived ?? undefined;
      },
      20_000,
    );
    assert.deepEqual(derived, { 'percent-network-egress': 42.5 });
  });

  it('refuses a prefix that would turn into a Redis glob', async () => {
    const outcome = await startTestBackend({ REDIS_URL: redis.url, METRICS_KEY_PREFIX: 'inst*' }, db).then(
      async (started) => {
        await started.close();
        return 'started';
      },
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    assert.match(outcome, /METRICS_KEY_PREFIX/);
  });
});
