/** A real backend (in this process) on a throw-away Postgres database. */
import pg from 'pg';
import { startBackend, type Backend } from '@imgfleet/backend/server';
import { database } from './backend-support.js';

export interface TestBackend {
  url: string;
  /** Runs SQL on its database: what an operator (or a crash recovery) does behind the backend's back. */
  sql(text: string, params?: unknown[]): Promise<void>;
  backend: Backend;
  stop(): Promise<void>;
}

export async function startTestBackend(env: Record<string, string> = {}): Promise<TestBackend> {
  const db = await database.createTestDatabase('imgfleet_desktop');
  let backend: Backend;
  try {
    backend = await startBackend({
      DATABASE_URL: db.url,
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
    async sql(text, params = []) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query(text, params);
      } finally {
        await client.end();
      }
    },
    backend,
    async stop() {
      await backend.stop(2000);
      await db.drop();
    },
  };
}
