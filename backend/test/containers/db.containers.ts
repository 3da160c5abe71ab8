/**
 * The database image (postgres-db) run for real, as the StatefulSet runs it: as its
 * postgres user (never root), read-only root, no capabilities, PGDATA below the
 * volume's mount point. init.sql runs when the volume is initialised and makes no
 * schema; the backend's migrations make it, and the earlier system's operational SQL
 * then works. The StatefulSet's own preStop hook, run as the kubelet runs it (an exec
 * in the container while PostgreSQL is PID 1), exits 0 and PostgreSQL shuts down
 * cleanly (a fast shutdown, no crash recovery at the next start).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrate } from '../../src/db/migrations.js';
import { mainContainer } from '../deploy/support/repo.js';
import { DB_IMAGE, Podman, execStatus, startDatabase, until, type Container } from './support/podman.js';

describe(DB_IMAGE, () => {
  const p = new Podman();
  let db: Container;
  let url: string;

  before(async () => {
    const network = await p.network('db');
    ({ db, hostUrl: url } = await startDatabase(p, network));
  });
  after(() => p.cleanup());

  const withClient = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  it('runs as the postgres user (999), never root, with no capabilities', async () => {
    assert.equal(await db.exec('id', '-u'), '999');
    const status = await db.exec('cat', '/proc/1/status');
    assert.match(status, /^Uid:\s+999\s+999\s+999\s+999$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.equal(await db.exec('stat', '-c', '%u %a', '/var/lib/postgresql/data/pgdata'), '999 700');
  });

  it('ran init.sql into imagedb when the volume was initialised, and it made no schema', async () => {
    assert.match(await db.logs(), /running \/docker-entrypoint-initdb\.d\/10-imgfleet-init\.sql/);
    await withClient(async (client) => {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'processed_images'`);
      assert.equal(rows[0]!.n, 0, 'the schema is the migrations’');
    });
  });

  it('takes the backend’s migrations, then the earlier system’s SQL works; a second run applies nothing', async () => {
    await withClient(async (client) => {
      const applied = await migrate(client);
      assert.ok(applied.length > 0, 'the migrations ran');
      assert.deepEqual(await migrate(client), []);
      await client.query(`INSERT INTO processed_images (original_data, status) VALUES ('\\xffd8ff'::bytea, 'pending')`);
      const { rows } = await client.query<unknown[]>({
        text: 'SELECT id, status, length(original_data), length(processed_data) from processed_images ORDER BY uploaded_at DESC LIMIT 5;',
        rowMode: 'array',
      });
      assert.deepEqual(
        rows.map((r) => r.slice(1)),
        [['pending', 3, null]],
      );
      const storage = await client.query<{ attstorage: string }>(
        `SELECT attstorage FROM pg_attribute WHERE attrelid = 'processed_images'::regclass AND attname = 'original_data'`,
      );
      assert.equal(storage.rows[0]!.attstorage, 'e', 'original_data is STORAGE EXTERNAL');
    });
  });

  it('the StatefulSet’s preStop hook exits 0 and PostgreSQL stops with a fast shutdown', { timeout: 120_000 }, async () => {
    const hook = mainContainer('StatefulSet', 'postgres').container.lifecycle?.preStop?.exec?.command;
    assert.ok(hook, 'no preStop hook');
    // A client that never disconnects, as the backends' pools: a smart shutdown would wait for it.
    const idle = new pg.Client({ connectionString: url });
    idle.on('error', () => undefined); // its session ends with the server
    await idle.connect();
    await idle.query('SELECT 1');
    try {
      // As the kubelet runs it: an exec in the running container.
      assert.equal(await execStatus(db.name, ...hook), 0, 'the hook failed (the kubelet would report FailedPreStopHook)');
      await until('PostgreSQL exits', async () => (await db.inspect('{{.State.Status}}')) === 'exited', 60_000);
    } finally {
      await idle.end().catch(() => undefined);
    }
    assert.equal(await db.inspect('{{.State.ExitCode}}'), '0');
    const logs = await db.logs();
    assert.match(logs, /received fast shutdown request/);
    assert.match(logs, /database system is shut down/);
  });
});
