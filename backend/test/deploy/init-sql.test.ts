/**
 * docker/init.sql and the backend's migrations: the schema has one source, the
 * migrations (backend/src/db/migrations.ts), which every backend pod applies at
 * start-up under an advisory lock. init.sql only makes sure the database the earlier
 * system's commands name (`imagedb`) exists, so adding a migration never needs an
 * edit here. Run for real with psql, as the postgres image's entrypoint runs it,
 * on a PostgreSQL server of this test's own (it creates a database by a fixed name).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { MIGRATIONS, migrate } from '../../src/db/migrations.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { readRepoFile, repoPath } from './support/repo.js';

const run = promisify(execFile);
const initSql = readRepoFile('docker/init.sql');
const code = initSql.replace(/--.*$/gm, '');

/** `psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname <db> -f init.sql`, as docker-entrypoint.sh runs it. */
async function runInitSql(server: PrivatePostgres, database: string): Promise<string> {
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  const { stdout } = await run('psql', ['-v', 'ON_ERROR_STOP=1', '--no-psqlrc', '--dbname', url.toString(), '-f', repoPath('docker', 'init.sql')]);
  return stdout;
}

describe('docker/init.sql', () => {
  test('makes no schema: the migrations are its only source', () => {
    assert.doesNotMatch(code, /\b(CREATE|ALTER|DROP)\s+(TABLE|INDEX|FUNCTION|TRIGGER|TYPE|EXTENSION|SEQUENCE)\b/i);
    assert.doesNotMatch(code, /processed_images/i);
    assert.doesNotMatch(code, /\b(TRUNCATE|DELETE|UPDATE|INSERT)\b/i);
  });

  describe('on PostgreSQL', () => {
    let server: PrivatePostgres;

    before(async () => {
      server = await startPrivatePostgres('postgres');
    });
    after(() => server?.destroy());

    const databases = async (): Promise<string[]> => {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      try {
        return (await c.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname')).rows.map((r) => r.datname);
      } finally {
        await c.end();
      }
    };

    test('creates imagedb when POSTGRES_DB named another database, and does nothing the second time', async () => {
      assert.ok(!(await databases()).includes('imagedb'));
      await runInitSql(server, 'postgres');
      assert.ok((await databases()).includes('imagedb'));
      await runInitSql(server, 'postgres');
      // As the image runs it by default: in imagedb itself (POSTGRES_DB=imagedb).
      await runInitSql(server, 'imagedb');
      assert.equal((await databases()).filter((d) => d === 'imagedb').length, 1);
    });

    describe('then the backend’s migrations, as the first pod applies them', () => {
      let client: pg.Client;

      before(async () => {
        const url = new URL(server.url);
        url.pathname = '/imagedb';
        client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
      });
      after(() => client?.end());

      test('apply cleanly, and once', async () => {
        assert.deepEqual(
          await migrate(client),
          MIGRATIONS.map((m) => m.version),
        );
        assert.deepEqual(await migrate(client), []);
        const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'processed_images'");
        assert.ok(rows[0]!.n > 6);
      });

      test('the image columns are stored EXTERNAL (no second compression of JPEG bytes)', async () => {
        const { rows } = await client.query<{ attname: string; attstorage: string }>(
          "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'processed_images'::regclass AND attname IN ('original_data', 'processed_data') ORDER BY attname",
        );
        assert.deepEqual(rows, [
          { attname: 'original_data', attstorage: 'e' },
          { attname: 'processed_data', attstorage: 'e' },
        ]);
      });

      test('the earlier system’s operational SQL works', async () => {
        await client.query("INSERT INTO processed_images (original_data, status, filename) VALUES ('\\xffd8ff'::bytea, 'pending', 'a.jpg')");
        // Verbatim from the earlier README (its two columns are both called `length`).
        const { rows } = await client.query<unknown[]>({
          text: 'SELECT id, status, length(original_data), length(processed_data) from processed_images ORDER BY uploaded_at DESC LIMIT 5;',
          rowMode: 'array',
        });
        assert.equal(rows.length, 1);
        assert.deepEqual(rows[0]!.slice(1), ['pending', 3, null]);
        await client.query('TRUNCATE TABLE processed_images;');
        assert.equal((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images')).rows[0]!.n, 0);
      });
    });
  });
});
