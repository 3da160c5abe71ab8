/**
 * The runtime's Redis connection. It fails fast while disconnected (no
 * offline queue): a poll that cannot reach Redis is skipped and the next
 * period tries again, instead of piling up commands that would all replay at
 * once on reconnect. ioredis keeps reconnecting in the background; outages
 * and recoveries are logged once each, not once per poll.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';

export interface RuntimeRedis {
  readonly client: Redis;
  readonly ready: boolean;
  /** Resolves once connected, or after `ms` if Redis is not there yet. */
  waitReady(ms: number): Promise<void>;
  close(): Promise<void>;
}

export function connectRedis(url: string, log: Logger): RuntimeRedis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    // A Redis that accepts the connection but never answers must not hang the loop.
    commandTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    connectionName: 'imgfleet-runtime',
    lazyConnect: true,
  });
  const where = url.replace(/\/\/[^@/]*@/, '//');
  let down = false;
  let everReady = false;
  let closing = false;
  client.on('ready', () => {
    log.info({ redis: where }, everReady ? 'redis connection restored' : 'connected to redis');
    down = false;
    everReady = true;
  });
  client.on('error', (err: Error) => {
    if (!down && !closing) log.warn({ redis: where, err }, 'redis unavailable; retrying in the background');
    down = true;
  });
  client.on('close', () => {
    if (!down && !closing) log.warn({ redis: where }, 'redis connection lost; reconnecting');
    down = true;
  });
  client.connect().catch(() => undefined); // 'error' has logged it and retryStrategy goes on.

  return {
    client,
    get ready() {
      return client.status === 'ready';
    },
    async waitReady(ms) {
      if (client.status === 'ready') return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          client.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        client.once('ready', done);
      });
    },
    async close() {
      closing = true;
      if (client.status === 'ready') {
        await Promise.race([client.quit().catch(() => undefined), sleep(1000)]);
      }
      client.disconnect();
    },
  };
}

/**
 * Queues a SET with the configured expiry (OUTPUT_TTL) in a transaction:
 * its answer comes from the batch's exec(), so nothing is returned to await.
 */
export function setKey(batch: ChainableCommander, key: string, value: string, ttlSeconds: number): void {
  if (ttlSeconds > 0) batch.set(key, value, 'EX', Math.max(1, Math.round(ttlSeconds)));
  else batch.set(key, value);
}
