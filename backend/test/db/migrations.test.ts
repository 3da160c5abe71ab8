/** Migrations: safe when replicas start at once; the earlier operational SQL keeps working. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrate, MIGRATIONS, WORK_CHANNEL } from '../../src/db/migrations.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestBackend, upload, waitFor, getJson } from '../support/backend.js';
import { makeImage } from '../support/images.js';
import type { BatchSummary, UploadResponse } from '../../src/contract/api.js';

describe('migrations', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('are applied exactly once when three replicas start at the same moment', async () => {
    const clients = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        return c;
      }),
    );
    try {
      const applied = await Promise.all(clients.map((c) => migrate(c)));
      assert.deepEqual(
        applied.flat().sort((a, b) => a - b),
        MIGRATIONS.map((m) => m.version),
      );
      const { rows } = await clients[0]!.query('SELECT version FROM imgfleet_migrations');
      assert.equal(rows.length, MIGRATIONS.length);
      assert.deepEqual(await migrate(clients[1]!), [], 'a restart applies nothing');
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('wake the pods for pending work nobody holds, and never for an image handed over to a pod', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    const c = new pg.Client({ connectionString: db.url });
    await Promise.all([listener.connect(), c.connect()]);
    const wakes: string[] = [];
    listener.on('notification', (n) => {
      if (n.channel === WORK_CHANNEL) wakes.push(n.channel);
    });
    const wakesAfter = async (sql: string, params: unknown[] = []) => {
      const before = wakes.length;
      await c.query(sql, params);
      // A round trip on the listening connection: notifications sent before it have arrived.
      await listener.query('SELECT 1');
      return wakes.length - before;
    };
    try {
      await listener.query(`LISTEN ${WORK_CHANNEL}`);
      const insert = `INSERT INTO processed_images (batch_id, filename, status, worker_id, lease_expires_at)
                      VALUES ('00000000-0000-4000-8000-00000000000a', $1, 'pending', $2, CASE WHEN $2::text IS NULL THEN NULL ELSE now() + interval '30 seconds' END) RETURNING id`;
      assert.equal(await wakesAfter(insert, ['free.jpg', null]), 1, 'plain pending work wakes them');
      assert.equal(await wakesAfter(insert, ['held.jpg', 'pod-a/1/x']), 0, 'a held image does not');
      const held = (await c.query<{ id: number }>(`SELECT id FROM processed_images WHERE filename = 'held.jpg'`)).rows[0]!.id;
      assert.equal(
        await wakesAfter(`UPDATE processed_images SET status = 'pending', worker_id = NULL, lease_expires_at = NULL WHERE id = $1`, [held]),
        1,
        'its hold handed back does',
      );
      assert.equal(await wakesAfter(`UPDATE processed_images SET status = 'processing', worker_id = 'pod-b/1/y' WHERE id = $1`, [held]), 0);
    } finally {
      await c.query(`DELETE FROM processed_images WHERE batch_id = '00000000-0000-4000-8000-00000000000a'`);
      await Promise.all([listener.end(), c.end()]);
    }
  });

  it('stores the JPEG columns EXTERNAL (no pointless recompression)', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ attname: string; attstorage: string }>(
        `SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'processed_images'::regclass AND attname IN ('original_data', 'processed_data') ORDER BY attname`,
      );
      assert.deepEqual(rows, [
        { attname: 'original_data', attstorage: 'e' },
        { attname: 'processed_data', attstorage: 'e' },
      ]);
    } finally {
      await c.end();
    }
  });

  it('keeps the photos out of the row with the filesystem store: the earlier columns NULL, the sizes and keys set', async () => {
    const t = await startTestBackend({}, db);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { batchId } = (await (await upload(t.url, [{ name: 'y.jpg', data: await makeImage({ width: 1000, height: 800 }) }])).json()) as UploadResponse;
      await waitFor(async () => (await getJson<BatchSummary>(`${t.url}/api/v1/batches/${batchId}`)).body.completed === 1);
      const { rows } = await c.query<{
        od: number | null;
        pd: number | null;
        original_bytes: number;
        processed_bytes: number;
        original_key: string;
        processed_key: string;
      }>(
        'SELECT length(original_data) AS od, length(processed_data) AS pd, original_bytes, processed_bytes, original_key, processed_key FROM processed_images WHERE batch_id = $1',
        [batchId],
      );
      assert.deepEqual([rows[0]!.od, rows[0]!.pd], [null, null], 'no photo bytes in PostgreSQL');
      assert.ok(Number(rows[0]!.original_bytes) > 1000 && Number(rows[0]!.processed_bytes) > 1000);
      assert.match(rows[0]!.original_key, /^originals\//);
      assert.match(rows[0]!.processed_key, /^results\//);
      await c.query('DELETE FROM processed_images WHERE batch_id = $1', [batchId]);
    } finally {
      await c.end();
      await t.backend.stop(2000);
    }
  });

  it("keeps the earlier system's operational SQL working: the bytes' lengths with the postgres store, the sizes with any", async () => {
    const t = await startTestBackend({ BLOB_STORE: 'postgres' }, db);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { batchId } = (await (await upload(t.url, [{ name: 'x.jpg', data: await makeImage({ width: 1000, height: 800 }) }])).json()) as UploadResponse;
      await waitFor(async () => (await getJson<BatchSummary>(`${t.url}/api/v1/batches/${batchId}`)).body.completed === 1);
      const { rows } = await c.query<{ id: number; status: string; length: number | null }>(
        'SELECT id, status, length(original_data), length(processed_data) from processed_images ORDER BY uploaded_at DESC LIMIT 5;',
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, 'completed');
      assert.ok(Number(rows[0]!.length) > 1000);
      const sizes = await c.query<{ original_bytes: number; processed_bytes: number }>(
        'SELECT id, status, original_bytes, processed_bytes FROM processed_images ORDER BY uploaded_at DESC LIMIT 5;',
      );
      assert.ok(Number(sizes.rows[0]!.original_bytes) > 1000 && Number(sizes.rows[0]!.processed_bytes) > 1000);
      await c.query('TRUNCATE TABLE processed_images;');
      assert.equal((await c.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images')).rows[0]!.n, 0);
    } finally {
      await c.end();
      await t.backend.stop(2000);
    }
  });
});
