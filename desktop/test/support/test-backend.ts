/** A real backend (in this process) on a throw-away Postgres database. */
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { startBackend, type Backend } from '@imgfleet/backend/server';
import { database } from './backend-support.js';

export interface TestBackend {
  url: string;
  /** Runs SQL on its database: what an operator (or a crash recovery) does behind the backend's back; the rows it returns. */
  sql<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Where the filesystem blob store keeps the photos' bytes (BLOB_DIR). */
  blobDir: string;
  backend: Backend;
  stop(): Promise<void>;
}

export async function startTestBackend(env: Record<string, string> = {}): Promise<TestBackend> {
  const db = await database.createTestDatabase('imgfleet_desktop');
  let backend: Backend;
  try {
    mkdirSync(db.blobDir, { recursive: true });
    backend = await startBackend({
      DATABASE_URL: db.url,
      BLOB_DIR: db.blobDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      WORKER_THREADS: '2',
      POD_NAME: 'desktop-test',
      METRICS_PERIOD: '1',
      ...env,
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  return {
    url: backend.url,
    async sql<T extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        return (await client.query<T>(text, params)).rows;
      } finally {
        await client.end();
      }
    },
    blobDir: env.BLOB_DIR ?? db.blobDir,
    backend,
    async stop() {
      await backend.stop(2000);
      await db.drop();
    },
  };
}
