/**
 * A full disk (issue 9, item 9): uploads get a clear STORAGE_FULL answer and
 * store nothing, images in flight are not written off as crashes, and the
 * pod recovers by itself when space returns. The database lives in a
 * tablespace on a small tmpfs of a private PostgreSQL; mounting needs root,
 * which CI has (the test fails loudly elsewhere rather than pretend).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { baseEnv, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { makeImage } from '../support/images.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';

function postgresIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

describe('a full disk under the database', () => {
  let server: PrivatePostgres;
  let mountPoint: string;
  let admin: pg.Client;
  let pool: pg.Pool;
  let url: string;
  let backend: BackendProcess | undefined;
  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test mounts a small tmpfs and needs root (CI runs as root)');
    server = await startPrivatePostgres('postgres');
    mountPoint = mkdtempSync('/var/tmp/imgfleet-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mountPoint]);
    const ids = postgresIds();
    chownSync(mountPoint, ids.uid, ids.gid);
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE TABLESPACE small LOCATION '${mountPoint}'`);
    await admin.query('CREATE DATABASE imagedb_small TABLESPACE small');
    const u = new URL(server.url);
    u.pathname = '/imagedb_small';
    url = u.toString();
    pool = new pg.Pool({ connectionString: url });
  });
  after(async () => {
    backend?.child.kill('SIGKILL');
    await pool?.end();
    await admin?.end();
    await server?.destroy();
    if (mountPoint) {
      execFileSync('umount', ['-l', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('answers STORAGE_FULL, keeps images in flight, recovers when space returns', async () => {
    const photo = await makeImage({ width: 1600, height: 1200, seed: 5, grain: 8 });
    // Migrate with a first start, then stop it and queue three images as an earlier pod would have.
    const first = await spawnBackend(baseEnv(url, { POD_NAME: 'full-0' }));
    first.child.kill('SIGTERM');
    await first.exit;
    for (let i = 0; i < 3; i++) {
      await pool.query(
        `INSERT INTO processed_images (filename, content_type, original_data, original_width, original_height, status, batch_id)
         VALUES ($1, 'image/jpeg', $2, 1600, 1200, 'pending', gen_random_uuid())`,
        [`queued-${i}.jpg`, photo],
      );
    }
    // Fill the disk with incompressible rows until PostgreSQL refuses.
    await pool.query('CREATE TABLE filler (b bytea)');
    await pool.query('ALTER TABLE filler ALTER COLUMN b SET STORAGE EXTERNAL');
    let full = false;
    for (let i = 0; i < 200 && !full; i++) {
      try {
        await pool.query('INSERT INTO filler VALUES ($1)', [randomBytes(512 * 1024)]);
      } catch (err) {
        assert.equal((err as { code?: string }).code, '53100', String(err));
        full = true;
      }
    }
    assert.ok(full, 'the disk filled up');

    backend = await spawnBackend(baseEnv(url, { POD_NAME: 'full-1', LEASE_SECONDS: '4', MAX_ATTEMPTS: '2' }));
    const res = await upload(backend.url, [{ name: 'while-full.jpg', data: photo }]);
    assert.equal(res.status, 507);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(body.code, 'STORAGE_FULL');
    assert.match(body.error, /storage|space|full/i);
    const stored = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE filename = 'while-full.jpg'");
    assert.equal(stored.rows[0]!.n, 0);

    // Let the queued images meet the full disk for a while (longer than their lease), then give space back.
    // Real time: the 4 s lease is enforced by a spawned backend and Postgres' now().
    await new Promise((r) => setTimeout(r, 9000));
    execFileSync('mount', ['-o', 'remount,size=400m', mountPoint]);

    const after = await upload(backend.url, [{ name: 'after-space.jpg', data: photo }]);
    assert.equal(after.status, 202);
    const rows = await waitFor(
      async () => {
        const { rows } = await pool.query<{ filename: string; status: string; error_code: string | null }>(
          'SELECT filename, status, error_code FROM processed_images ORDER BY id',
        );
        return rows.every((r) => r.status === 'completed' || r.status === 'failed') ? rows : null;
      },
      60_000,
      200,
    );
    for (const r of rows) {
      assert.notEqual(r.error_code, 'WORKER_CRASHED', `${r.filename} is not written off as a crash`);
      assert.equal(r.status, 'completed', `${r.filename} completed once space returned`);
    }
    assert.equal(rows.length, 4);
    assert.equal(backend.child.exitCode, null);
  });
});
