/**
 * docker/init.sql against the backend's migrations, on the machine's PostgreSQL:
 * the same columns with the same definitions, and the migrations run cleanly on a
 * database that init.sql initialised (as on a fresh postgres-db volume).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { MIGRATIONS, migrate } from '../../src/db/migrations.js';
import { createTestDatabase } from '../support/database.js';
import type { TestDatabase } from '../support/database.js';
import { readRepoFile } from './support/repo.js';

const initSql = readRepoFile('docker/init.sql');
// Every migration's columns: init.sql declares the table as the migrations leave it.
const migrationSql = MIGRATIONS.map((m) => m.sql).join('\n');

/** processed_images' column definitions: CREATE TABLE's lines and ADD COLUMN IF NOT EXISTS. */
function columns(sql: string): Map<string, string> {
  const out = new Map<string, string>();
  const body = /CREATE TABLE IF NOT EXISTS processed_images \(([\s\S]*?)\n\);/.exec(sql)?.[1];
  assert.ok(body, 'no CREATE TABLE IF NOT EXISTS processed_images');
  for (const line of body.split('\n')) {
    const m = /^\s*([a-z_]+)\s+(.+?),?\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  for (const m of sql.matchAll(/ADD COLUMN IF NOT EXISTS ([a-z_]+) ([^,;\n]+)/g)) out.set(m[1]!, m[2]!.trim());
  return out;
}

describe('docker/init.sql', () => {
  test('declares exactly the columns of the backend’s migrations, with the same definitions', () => {
    const fromInit = columns(initSql);
    assert.deepEqual([...fromInit].sort(), [...columns(migrationSql)].sort());
    for (const name of ['id', 'original_data', 'processed_data', 'uploaded_at', 'processed_at', 'status']) {
      assert.ok(fromInit.has(name), `the earlier system's column ${name}`);
    }
  });

  test('only creates or adds, never drops or rewrites (the migrations own the schema)', () => {
    const code = initSql.replace(/--.*$/gm, '');
    assert.doesNotMatch(code, /\b(DROP|TRUNCATE|DELETE|UPDATE|INSERT)\b/i);
    assert.doesNotMatch(code, /CREATE TABLE (?!IF NOT EXISTS)/i);
    assert.doesNotMatch(code, /ADD COLUMN (?!IF NOT EXISTS)/i);
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase;
    let client: pg.Client;

    before(async () => {
      db = await createTestDatabase('imgfleet_initsql');
      client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(initSql);
    });

    after(async () => {
      await client?.end();
      await db?.drop();
    });

    test('the backend’s migrations then apply cleanly, and once', async () => {
      assert.deepEqual(await migrate(client), MIGRATIONS.map((m) => m.version));
      assert.deepEqual(await migrate(client), []);
      const { rows } = await client.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'processed_images'",
      );
      assert.deepEqual(rows.map((r) => r.column_name).sort(), [...columns(migrationSql).keys()].sort());
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

    test('the earlier system’s operational SQL still works', async () => {
      await client.query("INSERT INTO processed_images (original_data, status, filename) VALUES ('\\xffd8ff'::bytea, 'pending', 'a.jpg')");
      // Verbatim from the earlier README (its two columns are both called `length`).
      const { rows } = await client.query<unknown[]>({
        text: 'SELECT id, status, length(original_data), length(processed_data) from processed_images ORDER BY uploaded_at DESC LIMIT 5;',
        rowMode: 'array',
      });
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0]!.slice(1), ['pending', 3, null]);
      await client.query('TRUNCATE TABLE processed_images;');
      assert.equal((await client.query('SELECT count(*)::int AS n FROM processed_images')).rows[0].n, 0);
    });
  });
});
