/**
 * A real, throw-away PostgreSQL database per test file, on the machine's
 * server (TEST_DATABASE_URL names the maintenance database to connect to).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  /** The blob folder of the backends on this database (blobDirFor); removed with it. */
  blobDir: string;
  drop(): Promise<void>;
}

/**
 * The BLOB_DIR of the backends of one test database: all of them share it,
 * as pods share a volume, and no other database's backends see it (their
 * orphan sweeps would take its files for orphans).
 */
export function blobDirFor(databaseUrl: string): string {
  const name = new URL(databaseUrl).pathname.replace(/^\//, '') || 'default';
  return path.join(os.tmpdir(), 'imgfleet-test-blobs', name);
}

export async function createTestDatabase(prefix = 'imgfleet_test'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const blobDir = blobDirFor(url.toString());
  return {
    url: url.toString(),
    name,
    blobDir,
    async drop() {
      rmSync(blobDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
