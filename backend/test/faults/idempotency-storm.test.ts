/**
 * Idempotency-Keys cannot hog a pod (issue 18, item 6): requests whose key
 * is held by a request in progress are answered at once (409,
 * Retry-After) instead of waiting with an upload slot, so a retry storm on
 * one key leaves other clients' uploads answered and the pod ready; and a
 * frozen pod's hold on a key ends when PostgreSQL ends its idle
 * transaction, while a live pod's slow upload keeps its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { baseEnv, formData, spawnBackend, startTestBackend, type TestBackend } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { connect, multipartBody, requestHead, statusOf, trickle, type RawConnection } from '../support/raw-http.js';
import { waitFor } from '../support/backend.js';

/** Whether some upload transaction holds a key it has not committed (its row lock on upload_requests). */
async function keyHeld(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE c.relname = 'upload_requests' AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid()`,
  );
  return rows[0]!.n > 0;
}

/** An upload with `key` that sends its head and the first bytes of its body, then nothing: it holds the key. */
async function holdKey(url: string, key: string, body: Buffer): Promise<RawConnection> {
  const conn = await connect(url);
  await conn.write(requestHead(url, '/api/v1/images', body.length, { 'Idempotency-Key': key }));
  await conn.write(body.subarray(0, 2000));
  return conn;
}

describe('a retry storm on one Idempotency-Key', () => {
  let t: TestBackend;
  let pool: pg.Pool;
  let photo: Buffer;
  before(async () => {
    // Were a waiting request to hold its slot, it would hold it for 10 minutes here.
    // The holder sends nothing for as long as the test needs: it is not cut off as an idle client meanwhile.
    t = await startTestBackend({ POD_NAME: 'storm', IDEMPOTENCY_WAIT_SECONDS: '600', UPLOAD_CONCURRENCY: '8', UPLOAD_IDLE_TIMEOUT_SECONDS: '600' });
    pool = new pg.Pool({ connectionString: t.db.url });
    photo = await makeImage({ width: 400, height: 300, seed: 3 });
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  it("leaves another client's upload answered and /readyz ready while it lasts", { timeout: 180_000 }, async () => {
    const key = randomUUID();
    const body = multipartBody([{ name: 'held.jpg', data: photo }]);
    const holder = await holdKey(t.url, key, body);
    await waitFor(() => keyHeld(pool), 20_000, 20);

    // 8 clients retry the key at once, again and again, each as soon as it is answered.
    let storming = true;
    const answers: number[] = [];
    const storm = Array.from({ length: 8 }, async () => {
      while (storming) {
        const res = await fetch(`${t.url}/api/v1/images`, {
          method: 'POST',
          body: formData([{ name: 'held.jpg', data: photo }]),
          headers: { 'idempotency-key': key },
        });
        answers.push(res.status);
        await res.arrayBuffer();
      }
    });
    await waitFor(() => answers.length >= 8, 60_000, 5);

    // While the storm goes on (the holder still holds the key): another client, and readiness.
    const readiness: number[] = [];
    let othersAnswered = false;
    const probes = (async () => {
      while (!othersAnswered) readiness.push((await fetch(`${t.url}/readyz`)).status);
    })();
    const other = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: formData([{ name: 'other.jpg', data: photo }]),
      headers: { 'idempotency-key': randomUUID() },
    });
    othersAnswered = true;
    await probes;
    assert.equal(other.status, 202, await other.text());
    assert.ok(await keyHeld(pool), 'the storm was still on: the holder still held its key');
    storming = false;
    await Promise.all(storm);
    assert.ok(readiness.length > 0 && readiness.every((s) => s === 200), `/readyz answered ${[...new Set(readiness)].join(', ')}`);
    assert.ok(
      answers.every((s) => s === 409),
      `the storm was told to retry: ${[...new Set(answers)].join(', ')}`,
    );

    // The holder finishes; a retry then gets its answer, stored once.
    await holder.write(body.subarray(2000));
    const held = await holder.response;
    assert.equal(statusOf(held), 202);
    const replay = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: formData([{ name: 'held.jpg', data: photo }]),
      headers: { 'idempotency-key': key },
    });
    assert.equal(replay.status, 202);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE filename = 'held.jpg'");
    assert.equal(rows[0]!.n, 1);
  });
});

describe('a frozen pod holding an Idempotency-Key', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let photo: Buffer;
  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    photo = await makeImage({ width: 400, height: 300, seed: 4 });
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('releases the key once PostgreSQL ends its idle transaction; another pod then stores the upload', { timeout: 180_000 }, async () => {
    const frozen = await spawnBackend(baseEnv(db.url, { POD_NAME: 'frozen', UPLOAD_TX_IDLE_SECONDS: '4', IDEMPOTENCY_WAIT_SECONDS: '600' }));
    const other = await startTestBackend({ POD_NAME: 'alive', IDEMPOTENCY_WAIT_SECONDS: '600' }, db);
    try {
      const key = randomUUID();
      const body = multipartBody([{ name: 'frozen.jpg', data: photo }]);
      const holder = await holdKey(frozen.url, key, body);
      await waitFor(() => keyHeld(pool), 20_000, 20);
      frozen.child.kill('SIGSTOP');
      assert.ok(await keyHeld(pool), 'frozen, the pod still holds the key');
      // PostgreSQL ends the frozen pod's transaction (idle in transaction for 4 s): the key is free.
      await waitFor(async () => !(await keyHeld(pool)), 60_000, 50);
      const stored = await fetch(`${other.url}/api/v1/images`, {
        method: 'POST',
        body: formData([{ name: 'frozen.jpg', data: photo }]),
        headers: { 'idempotency-key': key },
      });
      assert.equal(stored.status, 202, await stored.clone().text());
      assert.equal(stored.headers.get('idempotent-replayed'), null, 'stored by the live pod');
      holder.socket.destroy();
    } finally {
      frozen.child.kill('SIGKILL');
      await other.close();
    }
  });

  it("keeps a live pod's transaction however slowly its client sends", { timeout: 120_000 }, async () => {
    const t = await startTestBackend({ POD_NAME: 'slow-client', UPLOAD_TX_IDLE_SECONDS: '2' }, db);
    try {
      const body = multipartBody([{ name: 'slow-client.jpg', data: photo }]);
      const conn = await connect(t.url);
      await conn.write(requestHead(t.url, '/api/v1/images', body.length, { 'Idempotency-Key': randomUUID() }));
      // Fifteen pieces 400 ms apart: the transaction stays open about 6 s, three times its idle limit.
      await trickle(conn, body, 15, 400);
      assert.equal(statusOf(await conn.response), 202);
    } finally {
      await t.close();
    }
  });
});
