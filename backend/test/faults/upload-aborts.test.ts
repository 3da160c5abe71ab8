/**
 * Clients that go away or misbehave mid-upload: each must release everything
 * it held, and the process must keep taking uploads (issue 9, items 1, 2, 8).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { connect, multipartBody, partHead, requestHead, sleep, statusOf, trickle } from '../support/raw-http.js';

describe('uploads cut short by their clients', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let backend: BackendProcess;
  let photo: Buffer;
  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    photo = await makeImage({ width: 2400, height: 1800, seed: 9, grain: 10 });
    backend = await spawnBackend(
      baseEnv(db.url, { POD_NAME: 'aborts', WORKER_THREADS: '4', UPLOAD_IDLE_TIMEOUT_SECONDS: '2', READY_SLOT_WAIT_SECONDS: '0.5' }),
    );
  });
  after(async () => {
    backend.child.kill('SIGKILL');
    await pool.end();
    await db.drop();
  });

  const alive = () => backend.child.exitCode === null && backend.child.signalCode === null;

  async function completes(name: string): Promise<void> {
    const res = await upload(backend.url, [{ name, data: photo }], {});
    assert.equal(res.status, 202);
    const { images } = (await res.json()) as UploadResponse;
    const id = images[0]!.id;
    await waitFor(async () => {
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM processed_images WHERE id = $1', [id]);
      return rows[0]?.status === 'completed';
    }, 20_000);
  }

  it('six aborted uploads, then a normal upload completes', async () => {
    for (let i = 0; i < 6; i++) {
      const body = multipartBody([{ name: `aborted-${i}.jpg`, data: photo }]);
      const conn = await connect(backend.url);
      await conn.write(requestHead(backend.url, '/api/v1/images', body.length));
      await conn.write(body.subarray(0, Math.floor(body.length / 2)));
      await sleep(100); // Real time: the spawned server reads the half sent before the client goes; it announces nothing.
      conn.socket.destroy();
      await conn.response;
    }
    await completes('after-aborts.jpg');
    assert.ok(alive());
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE filename LIKE 'aborted-%'");
    assert.equal(rows[0]!.n, 0, 'an aborted request leaves nothing behind');
  });

  it('an unterminated multipart body while four slow uploads are in flight: the process lives, the four complete', async () => {
    const slow = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const body = multipartBody([{ name: `slow-${i}.jpg`, data: photo }]);
        const conn = await connect(backend.url);
        await conn.write(requestHead(backend.url, '/api/v1/images', body.length));
        return { conn, body };
      }),
    );
    const sending = slow.map(({ conn, body }) => trickle(conn, body, 20, 100));
    await sleep(300); // Real time: the slow clients are a few chunks in when the bad request comes.
    // Headers, one part begun, then the end of the request with no closing boundary.
    const cut = Buffer.concat([partHead({ name: 'unterminated.jpg', data: photo }), photo.subarray(0, 1000)]);
    const bad = await connect(backend.url);
    await bad.write(requestHead(backend.url, '/api/v1/images', cut.length));
    await bad.write(cut);
    const badAnswer = await bad.response;
    assert.ok(alive(), `the process is alive:\n${backend.output().slice(-2000)}`);
    assert.equal(statusOf(badAnswer), 400, badAnswer.slice(0, 300));
    await Promise.all(sending);
    const answers = await Promise.all(slow.map(({ conn }) => conn.response));
    for (const a of answers) assert.equal(statusOf(a), 202, a.slice(0, 300));
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE filename LIKE 'slow-%' AND status = 'completed'");
      return rows[0]!.n === 4;
    }, 30_000);
    assert.ok(alive());
  });

  it('bodies shorter than their Content-Length time out and free their slots', async () => {
    const stalled = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const body = multipartBody([{ name: `stalled-${i}.jpg`, data: photo }]);
        const conn = await connect(backend.url);
        await conn.write(requestHead(backend.url, '/api/v1/images', body.length + 5000));
        await conn.write(body);
        return conn;
      }),
    );
    const answers = await Promise.all(stalled.map((c) => c.response));
    for (const a of answers) {
      assert.equal(statusOf(a), 408, `a stalled body gets 408: ${a.slice(0, 200)}`);
      assert.match(a, /UPLOAD_TIMEOUT/);
    }
    await completes('after-stalls.jpg');
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE filename LIKE 'stalled-%'");
    assert.equal(rows[0]!.n, 0);
  });

  it('a client that stops sending mid-file is cut off, the pod is not ready while starved, and keeps taking uploads', async () => {
    const quiet = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const body = multipartBody([{ name: `quiet-${i}.jpg`, data: photo }]);
        const conn = await connect(backend.url);
        await conn.write(requestHead(backend.url, '/api/v1/images', body.length));
        await conn.write(body.subarray(0, 5000));
        return conn;
      }),
    );
    await waitFor(async () => (await fetch(`${backend.url}/readyz`)).status === 503, 5000, 50);
    await completes('beside-quiet.jpg');
    assert.equal((await fetch(`${backend.url}/readyz`)).status, 200, 'ready again once the slots are free');
    const answers = await Promise.all(quiet.map((c) => c.response));
    for (const a of answers) assert.equal(statusOf(a), 408);
    assert.ok(alive());
  });
});
