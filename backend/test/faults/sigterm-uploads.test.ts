/**
 * SIGTERM lets uploads in progress finish within the grace period, refuses
 * new connections, and the process exits within the grace plus a small
 * margin whatever is running (issue 9, item 5).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import sharp from 'sharp';
import { baseEnv, openEventStream, spawnBackend, upload, waitFor } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { connect, jsonOf, multipartBody, requestHead, sleep, statusOf, trickle } from '../support/raw-http.js';

describe('SIGTERM and uploads in progress', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let photo: Buffer;
  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    photo = await makeImage({ width: 2000, height: 1500, seed: 21, grain: 8 });
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('an upload still being sent when SIGTERM arrives is received, stored and answered', async () => {
    const b = await spawnBackend(baseEnv(db.url, { POD_NAME: 'term-a', SHUTDOWN_GRACE_SECONDS: '20' }));
    try {
      const body = multipartBody([{ name: 'during-term.jpg', data: photo }]);
      const conn = await connect(b.url);
      await conn.write(requestHead(b.url, '/api/v1/images', body.length));
      const sending = trickle(conn, body, 30, 100); // ~3 s of sending
      await sleep(500); // Real time: a few chunks into a real slow client's upload, the signal comes mid-body.
      b.child.kill('SIGTERM');
      await sending;
      const answer = await conn.response;
      assert.equal(statusOf(answer), 202, answer.slice(0, 300));
      const id = jsonOf<{ images: { id: number }[] }>(answer).images[0]!.id;
      assert.equal((await b.exit).code, 0);
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM processed_images WHERE id = $1', [id]);
      assert.ok(rows[0], 'the upload was stored');
      assert.ok(['completed', 'pending'].includes(rows[0].status), `stored as ${rows[0].status}`);
    } finally {
      b.child.kill('SIGKILL');
    }
  });

  it('exits within the grace period plus a small margin, whatever is still running', async () => {
    const b = await spawnBackend(baseEnv(db.url, { POD_NAME: 'term-b', WORKER_THREADS: '1', SHUTDOWN_GRACE_SECONDS: '1', IMAGE_TIMEOUT_SECONDS: '120' }));
    try {
      // A slow image in a thread, an event stream and an upload that never finishes sending.
      const slow = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: '#123456' } })
        .png({ compressionLevel: 9 })
        .toBuffer();
      assert.equal(
        (
          await upload(b.url, [
            { name: 'slow.png', data: slow },
            { name: 'slow2.png', data: slow },
          ])
        ).status,
        202,
      );
      const events = await openEventStream(`${b.url}/api/v1/events`);
      const body = multipartBody([{ name: 'endless.jpg', data: photo }]);
      const conn = await connect(b.url);
      await conn.write(requestHead(b.url, '/api/v1/images', body.length));
      await conn.write(body.subarray(0, 1000));
      await waitFor(
        async () => {
          const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE status = 'processing'");
          return rows[0]!.n > 0;
        },
        20_000,
        20,
      );
      const started = Date.now();
      b.child.kill('SIGTERM');
      const { code } = await b.exit;
      const took = Date.now() - started;
      events.close();
      conn.socket.destroy();
      assert.equal(code, 0);
      assert.ok(took < 1000 + 3000, `exited ${took} ms after SIGTERM with a 1 s grace`);
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE status = 'processing'");
      assert.equal(rows[0]!.n, 0, 'whatever was unfinished was handed back');
    } finally {
      b.child.kill('SIGKILL');
    }
  });

  it('refuses new connections once draining, while the uploads in progress go on', async () => {
    const b = await spawnBackend(baseEnv(db.url, { POD_NAME: 'term-c', SHUTDOWN_GRACE_SECONDS: '20' }));
    try {
      const body = multipartBody([{ name: 'inflight.jpg', data: photo }]);
      const conn = await connect(b.url);
      await conn.write(requestHead(b.url, '/api/v1/images', body.length));
      const sending = trickle(conn, body, 20, 100);
      await sleep(300); // Real time: a few chunks into a real slow client's upload, the signal comes mid-body.
      b.child.kill('SIGTERM');
      // Once the signal is handled (a busy machine may take a moment), new connections are refused.
      await waitFor(
        async () => {
          try {
            await fetch(`${b.url}/healthz`);
            return false;
          } catch {
            return true;
          }
        },
        10_000,
        50,
      );
      await sending;
      assert.equal(statusOf(await conn.response), 202);
      assert.equal((await b.exit).code, 0);
    } finally {
      b.child.kill('SIGKILL');
    }
  });
});
