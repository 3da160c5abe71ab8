/**
 * Nothing is lost when a pod dies: a backend killed with SIGKILL mid-batch
 * leaves leases that expire, another process takes the images over, and
 * every image completes exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { make12MpJpeg } from '../support/images.js';
import { listenToStatuses, type StatusLog } from '../support/status-log.js';
import { migrate } from '../../src/db/migrations.js';
import { createPool } from '../../src/db/pool.js';
import { DEFAULT_OUTPUT_OPTIONS, outputOptionsSchema } from '../../src/contract/output-options.js';
import { IngestTransaction } from '../../src/queue/ingest.js';
import { PostgresBlobStore } from '../../src/blobs/pg-store.js';
import { ImagesService } from '../../src/http/images-service.js';
import { ImageCatalogue } from '../../src/queue/catalogue.js';
import { ImageRepository } from '../../src/queue/repository.js';
import { Dispatcher, type ResizeRunner } from '../../src/queue/dispatcher.js';
import { DEFAULT_RULES } from '../../src/imaging/index.js';
import { createLogger } from '../../src/logger.js';

/** A three-byte "JPEG" queued straight through the ingest transaction, its bytes in the row (the postgres store). */
function tinyImage(batchId: string, filename: string) {
  return {
    batchId,
    filename,
    contentType: 'image/jpeg',
    original: { kind: 'original' as const, key: null, size: 3, data: Buffer.from([0xff, 0xd8, 0xff]) },
    width: 1,
    height: 1,
    decodeBytes: 3,
    cost: { memoryBytes: 4096, cpuMs: 21 },
    options: DEFAULT_OUTPUT_OPTIONS,
    sourcePath: null,
  };
}

describe('a backend killed mid-batch', () => {
  let db: TestDatabase;
  let log: StatusLog;
  const procs: BackendProcess[] = [];
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await log?.close();
    await db.drop();
  });

  it('loses nothing: another process takes over its leases and every image completes exactly once', async () => {
    const a = await spawnBackend(baseEnv(db.url, { POD_NAME: 'pod-a', WORKER_THREADS: '2', LEASE_SECONDS: '2' }));
    procs.push(a);
    log = await listenToStatuses(db.url);
    const photos = await Promise.all(Array.from({ length: 12 }, (_, i) => make12MpJpeg(i + 1)));
    const res = await upload(
      a.url,
      photos.map((data, i) => ({ name: `photo-${i + 1}.jpg`, data })),
    );
    const { images } = (await res.json()) as UploadResponse;
    assert.equal(images.length, 12);

    // Kill A while it holds images: at least one done, some in its hands.
    await waitFor(() => log.events.some((e) => e.status === 'completed'), 30_000, 5);
    a.child.kill('SIGKILL');
    await a.exit;
    const pool = new pg.Pool({ connectionString: db.url });
    const { rows: orphaned } = await pool.query<{ id: number }>(`SELECT id FROM processed_images WHERE status = 'processing'`);
    const left = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM processed_images WHERE status <> 'completed'`)).rows[0]!.n;
    assert.ok(left > 0, 'A was killed before finishing the batch');

    const b = await spawnBackend(baseEnv(db.url, { POD_NAME: 'pod-b', WORKER_THREADS: '2', LEASE_SECONDS: '2' }));
    procs.push(b);
    // Every image's final status event (not the rows: a NOTIFY can arrive after its commit is visible).
    const finals = await log.settled(images.map((img) => img.id));
    assert.deepEqual(
      finals.map((e) => e.status),
      images.map(() => 'completed'),
    );

    for (const img of images) assert.equal(log.completions(img.id), 1, `image ${img.id} completed exactly once`);
    const { rows } = await pool.query<{ id: number; attempts: number; worker_id: string; w: number; h: number; n: number }>(
      `SELECT id, attempts, worker_id, width AS w, height AS h, processed_bytes AS n FROM processed_images ORDER BY id`,
    );
    for (const r of rows) {
      assert.deepEqual([r.w, r.h], [800, 600]);
      assert.ok(r.n > 1000);
    }
    // The images A held when it died were finished by B, on their second attempt.
    for (const { id } of orphaned) {
      const r = rows.find((x) => x.id === id)!;
      assert.ok(r.worker_id.startsWith('pod-b/'), `image ${id} finished by pod-b, not ${r.worker_id}`);
      assert.equal(r.attempts, 2);
    }
    await pool.end();
  });
});

describe('an image whose workers keep dying', () => {
  it('is marked failed after MAX_ATTEMPTS expired leases, with the reason', async () => {
    const database = await createTestDatabase();
    const pool = createPool(database.url, 4);
    try {
      const client = await pool.connect();
      await migrate(client);
      client.release();
      const repo = new ImageRepository(pool, new PostgresBlobStore(pool));
      const tx = await IngestTransaction.begin(pool, new PostgresBlobStore(pool));
      const { id } = await tx.enqueue(tinyImage('00000000-0000-4000-8000-000000000001', 'cursed.jpg'));
      await tx.commit();
      const expire = () => pool.query(`UPDATE processed_images SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
      for (let attempt = 1; attempt <= 3; attempt++) {
        assert.equal(await repo.failExhausted(3), 0);
        const claimed = await repo.claim(`crashy-${attempt}`, 1, 30, 3, DEFAULT_OUTPUT_OPTIONS);
        assert.deepEqual(claimed, [{ id, attempts: attempt, options: DEFAULT_OUTPUT_OPTIONS, originalKey: null, cost: { memoryBytes: 4096, cpuMs: 21 } }]);
        // ...and the worker dies without a word: its lease runs out.
        await expire();
      }
      assert.deepEqual(await repo.claim('another', 1, 30, 3, DEFAULT_OUTPUT_OPTIONS), [], 'not handed out a fourth time');
      assert.equal(await repo.failExhausted(3), 1);
      const blobs = new PostgresBlobStore(pool);
      const image = await new ImagesService({ catalogue: new ImageCatalogue(pool, blobs), db: pool, blobs, rowsPerStatement: 100 }).get(id);
      assert.equal(image!.status, 'failed');
      assert.equal(image!.errorCode, 'WORKER_CRASHED');
      assert.equal(image!.error, 'worker crashed 3 times while processing this image');
    } finally {
      await pool.end();
      await database.drop();
    }
  });
});

describe('an image handed over to a pod that dies', () => {
  it('is pending but held by that pod while its lease lasts, then any pod takes it over', async () => {
    const database = await createTestDatabase();
    const pool = createPool(database.url, 4);
    const repo = new ImageRepository(pool, new PostgresBlobStore(pool));
    // One thread that never finishes: the second image of the upload waits for it in memory.
    const stuck: ResizeRunner = { size: 1, resize: () => new Promise<never>(() => undefined) };
    const options = {
      podName: 'dies',
      leaseSeconds: 30,
      maxAttempts: 3,
      pollMs: 60_000,
      rules: DEFAULT_RULES,
      defaults: DEFAULT_OUTPUT_OPTIONS,
      optionsSchema: outputOptionsSchema,
      memoryBudgetBytes: 1e9,
      timeLimit: { baseMs: 1000, slack: 4, speed: () => 1 },
      handOffBytes: 1e6,
    };
    const doomed = new Dispatcher(repo, stuck, new PostgresBlobStore(pool), options, createLogger('silent', { pod: 'dies' }));
    try {
      const client = await pool.connect();
      await migrate(client);
      client.release();
      const image = (name: string) => tinyImage('00000000-0000-4000-8000-000000000002', name);
      const tx = await IngestTransaction.begin(pool, new PostgresBlobStore(pool), doomed);
      const running = await tx.enqueue(image('running.jpg'));
      const held = await tx.enqueue(image('held.jpg'));
      await tx.commit();
      assert.equal(running.status, 'processing');
      assert.equal(held.status, 'pending', 'waiting for a thread, as the earlier system showed it');
      const { rows } = await pool.query<{ worker_id: string; attempts: number; leased: boolean }>(
        'SELECT worker_id, attempts, lease_expires_at > now() AS leased FROM processed_images WHERE id = $1',
        [held.id],
      );
      assert.deepEqual(rows, [{ worker_id: doomed.workerId, attempts: 0, leased: true }]);
      assert.deepEqual(await repo.claim('other-pod', 5, 30, 3, DEFAULT_OUTPUT_OPTIONS), [], 'no other pod takes what is held');
      assert.equal(await repo.startHeld(held.id, 'other-pod', 30), false, 'nor starts it');
      assert.deepEqual((await repo.renewLeases(doomed.workerId, [running.id, held.id], 30)).renewed.sort(), [running.id, held.id].sort());

      // The pod dies without a word: once its leases run out, another pod claims both.
      await pool.query(`UPDATE processed_images SET lease_expires_at = now() - interval '1 second'`);
      const claimed = await repo.claim('other-pod', 5, 30, 3, DEFAULT_OUTPUT_OPTIONS);
      assert.deepEqual(
        claimed.map((c) => [c.id, c.attempts]),
        [
          [running.id, 2],
          [held.id, 1],
        ],
        'the held one never started: this is its first attempt',
      );
      assert.equal(await repo.startHeld(held.id, doomed.workerId, 30), false, "the dead pod's hold is gone");
    } finally {
      await doomed.drain(0);
      await pool.end();
      await database.drop();
    }
  });

  it('is handed back on a graceful stop without counting an attempt', async () => {
    const database = await createTestDatabase();
    const pool = createPool(database.url, 4);
    const repo = new ImageRepository(pool, new PostgresBlobStore(pool));
    try {
      const client = await pool.connect();
      await migrate(client);
      client.release();
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO processed_images (batch_id, filename, status, worker_id, attempts, lease_expires_at)
         VALUES ('00000000-0000-4000-8000-000000000003', 'held.jpg', 'pending', 'stopping', 0, now() + interval '30 seconds') RETURNING id`,
      );
      const id = rows[0]!.id;
      assert.equal(await repo.release('stopping', [id]), 1);
      const after = await pool.query('SELECT status, worker_id, attempts, lease_expires_at FROM processed_images WHERE id = $1', [id]);
      assert.deepEqual(after.rows, [{ status: 'pending', worker_id: null, attempts: 0, lease_expires_at: null }]);
      assert.deepEqual(
        (await repo.claim('next', 1, 30, 3, DEFAULT_OUTPUT_OPTIONS)).map((c) => c.id),
        [id],
      );
    } finally {
      await pool.end();
      await database.drop();
    }
  });
});
