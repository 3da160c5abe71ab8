/**
 * Redis going away and coming back. The machine's Redis must stay up for
 * everyone else, so these tests run their own redis-server and kill it.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RuntimeTestBed, waitFor } from './support/harness.js';
import { ThrowAwayRedis, freePort } from './support/redis-server.js';

const COUNTER = `
def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    return {'v': input['v'], 'n': context.env['n']}
`;

describe('redis outages', () => {
  const bed = new RuntimeTestBed();
  const servers: ThrowAwayRedis[] = [];
  const clients: Redis[] = [];
  after(async () => {
    await bed.close();
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.kill();
  });

  function client(server: ThrowAwayRedis): Redis {
    // The test's own client retries quietly while the server is down.
    const redis = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  }

  test('redis killed and restarted mid-run: the runtime logs, keeps polling and resumes writing', async () => {
    const server = new ThrowAwayRedis(await freePort());
    servers.push(server);
    await server.start();
    const redis = client(server);
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', COUNTER);

    const { runtime, logs } = await bed.start({ redisUrl: server.url, inputKey: 'metrics', outputKey: 'derived', functionPath: file });
    await redis.set('metrics', '{"v": 1}');
    await waitFor('first output', async () => (await redis.get('derived')) !== null);
    assert.deepEqual(JSON.parse((await redis.get('derived'))!), { v: 1, n: 1 });

    await server.kill();
    await waitFor('runtime notices', () => logs.some((l) => /redis (unavailable|connection lost)/.test(l.msg)));
    await bed.waitPolls(runtime, 5); // polls go on, failing quietly, while Redis is down
    assert.notEqual(runtime.status().redis, 'ready');

    await server.start(); // same port, empty data set: nothing was saved
    await redis.set('metrics', '{"v": 2}');
    const out = await waitFor('output after restart', async () => {
      const raw = await redis.get('derived');
      return raw ? (JSON.parse(raw) as { v: number; n: number }) : undefined;
    });
    assert.deepEqual(out, { v: 2, n: 2 }, 'same python process, env intact');
    assert.ok(logs.some((l) => l.msg === 'redis connection restored'));
    assert.equal(runtime.status().redis, 'ready');
  });

  test('a runtime started while redis is down starts working when redis comes up', async () => {
    const server = new ThrowAwayRedis(await freePort());
    servers.push(server);
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', COUNTER);
    const { runtime } = await bed.start({ redisUrl: server.url, inputKey: 'metrics', outputKey: 'derived', functionPath: file });
    await bed.waitPolls(runtime, 3);
    assert.equal(runtime.status().loaded, true);

    await server.start();
    const redis = client(server);
    await redis.set('metrics', '{"v": 9}');
    await waitFor('output', async () => (await redis.get('derived')) === '{"v": 9, "n": 1}');
  });
});
