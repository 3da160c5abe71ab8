/** SIGTERM: stop claiming, finish in-flight work within the grace period, hand back the rest, exit 0. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import sharp from 'sharp';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, spawnBackend, upload, waitFor } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { listenToStatuses } from '../support/status-log.js';

/** Slow to decode (no shrink-on-load), quick to upload. */
function slowPng(background: string): Promise<Buffer> {
  return sharp({ create: { width: 9000, height: 9000, channels: 3, background } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

describe('SIGTERM drain', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('finishes the image in flight, leaves the queue to others, exits 0', async () => {
    const a = await spawnBackend(baseEnv(db.url, { POD_NAME: 'drain-a', WORKER_THREADS: '1', SHUTDOWN_GRACE_SECONDS: '30' }));
    const log = await listenToStatuses(db.url);
    try {
      const files = await Promise.all(['#111111', '#222222', '#333333', '#444444'].map(async (c, i) => ({ name: `slow-${i}.png`, data: await slowPng(c) })));
      const { images } = (await (await upload(a.url, files)).json()) as UploadResponse;
      await waitFor(() => log.events.some((e) => e.status === 'processing'), 20_000, 5);
      const inFlight = log.events.find((e) => e.status === 'processing')!.id;
      a.child.kill('SIGTERM');
      const { code } = await a.exit;
      assert.equal(code, 0);
      assert.match(a.output(), /shutting down gracefully/);
      const { rows } = await pool.query<{ id: number; status: string; worker_id: string | null; attempts: number }>(
        'SELECT id, status, worker_id, attempts FROM processed_images ORDER BY id',
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      assert.equal(byId.get(inFlight)!.status, 'completed', 'the in-flight image was finished within the grace period');
      assert.equal(rows.filter((r) => r.status === 'processing').length, 0, 'nothing left held by the dead process');
      const rest = rows.filter((r) => r.status === 'pending');
      assert.ok(rest.length >= 1, 'it stopped claiming new images');
      for (const r of rest) assert.equal(r.worker_id, null);
      assert.equal(images.length, 4);
    } finally {
      await log.close();
      a.child.kill('SIGKILL');
    }
  });

  it('hands back what it cannot finish in the grace period, so another process takes it at once', async () => {
    await pool.query('TRUNCATE processed_images');
    const a = await spawnBackend(baseEnv(db.url, { POD_NAME: 'drain-b', WORKER_THREADS: '1', SHUTDOWN_GRACE_SECONDS: '0', LEASE_SECONDS: '600' }));
    const log = await listenToStatuses(db.url);
    try {
      const { images } = (await (await upload(a.url, [{ name: 'slow.png', data: await slowPng('#555555') }])).json()) as UploadResponse;
      const id = images[0]!.id;
      await waitFor(() => log.events.some((e) => e.id === id && e.status === 'processing'), 20_000, 5);
      a.child.kill('SIGTERM');
      assert.equal((await a.exit).code, 0);
      const { rows } = await pool.query<{ status: string; worker_id: string | null; attempts: number; lease_expires_at: Date | null }>(
        'SELECT status, worker_id, attempts, lease_expires_at FROM processed_images WHERE id = $1',
        [id],
      );
      assert.deepEqual(
        rows[0],
        { status: 'pending', worker_id: null, attempts: 0, lease_expires_at: null },
        'released, and the attempt not counted as a crash',
      );

      // With a 10-minute lease, only the hand-back lets another process finish it now.
      const b = await spawnBackend(baseEnv(db.url, { POD_NAME: 'drain-c', WORKER_THREADS: '1' }));
      try {
        await waitFor(() => log.completions(id) === 1, 30_000, 50);
      } finally {
        b.child.kill('SIGTERM');
        await b.exit;
      }
    } finally {
      await log.close();
      a.child.kill('SIGKILL');
    }
  });
});
