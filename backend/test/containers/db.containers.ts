/**
 * The database image (postgres-db:latest) run for real, as the StatefulSet runs
 * it: as its postgres user (never root), read-only root, no capabilities, PGDATA
 * below the volume's mount point. init.sql runs when the volume is initialised,
 * and the backend's migrations then run cleanly on top of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/db/migrations.js';
import { Podman, startDatabase, type Container } from './support/podman.js';

describe('postgres-db:latest', () => {
  const p = new Podman();
  let db: Container;
  let url: string;

  before(async () => {
    const network = await p.network('db');
    ({ db, hostUrl: url } = await startDatabase(p, network));
  });
  after(() => p.cleanup());

  it('runs as the postgres user (999), never root, with no capabilities', async () => {
    assert.equal(await db.exec('id', '-u'), '999');
    const status = await db.exec('cat', '/proc/1/status');
    assert.match(status, /^Uid:\s+999\s+999\s+999\s+999$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.equal(await db.exec('stat', '-c', '%u %a', '/var/lib/postgresql/data/pgdata'), '999 700');
  });

  it('ran init.sql into imagedb when the volume was initialised', async () => {
    assert.match(await db.logs(), /running \/docker-entrypoint-initdb\.d\/10-imgfleet-init\.sql/);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'processed_images' ORDER BY column_name`,
      );
      const cols = rows.map((r) => r.column_name);
      for (const c of ['id', 'original_data', 'processed_data', 'status', 'batch_id', 'lease_expires_at']) assert.ok(cols.includes(c), c);
      const storage = await client.query<{ attstorage: string }>(
        `SELECT attstorage FROM pg_attribute WHERE attrelid = 'processed_images'::regclass AND attname = 'original_data'`,
      );
      assert.equal(storage.rows[0]!.attstorage, 'e', 'original_data is STORAGE EXTERNAL');
    } finally {
      await client.end();
    }
  });

  it('takes the backend’s migrations on top of init.sql, and a second run applies nothing', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const applied = await migrate(client);
      assert.ok(applied.length > 0, 'the migrations ran');
      assert.deepEqual(await migrate(client), []);
      await client.query(`INSERT INTO processed_images (original_data, status) VALUES ('\\xffd8ff'::bytea, 'pending')`);
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM processed_images`);
      assert.equal(rows[0]!.n, '1');
    } finally {
      await client.end();
    }
  });
});
