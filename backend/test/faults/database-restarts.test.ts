/**
 * PostgreSQL restarted under a batch (issue 9, items 3 and 4): the process
 * never exits, a client that retries with its Idempotency-Key gets every
 * image stored once, and every image completes exactly once. The database is
 * a private server, so restarting it disturbs no other test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, formData, spawnBackend, waitFor, waitForQueueSettled, type BackendProcess } from '../support/backend.js';
import { makeImage } from '../support/images.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { sleep } from '../support/raw-http.js';

/** Posts one request until it gets an answer that is not a transient failure, always with the same key. */
async function uploadWithRetries(url: string, files: { name: string; data: Buffer }[], key: string): Promise<UploadResponse> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const res = await fetch(`${url}/api/v1/images`, {
        method: 'POST',
        body: formData(files),
        headers: { 'idempotency-key': key },
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 202) return (await res.json()) as UploadResponse;
      const body = (await res.json()) as { code: string };
      assert.ok([503, 409].includes(res.status), `only transient failures are expected, got ${res.status} ${body.code}`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
    }
    await sleep(150); // Real time: a client's pause before retrying against a database that is restarting.
  }
  throw new Error('upload never succeeded');
}

describe('PostgreSQL restarts under a batch', () => {
  let pgServer: PrivatePostgres;
  let backend: BackendProcess;
  let photos: Buffer[];
  before(async () => {
    pgServer = await startPrivatePostgres();
    photos = await Promise.all([1, 2, 3].map((seed) => makeImage({ width: 2400, height: 1600, seed, grain: 8 })));
    backend = await spawnBackend(baseEnv(pgServer.url, { POD_NAME: 'restarts', QUEUE_POLL_MS: '300', LEASE_SECONDS: '10' }));
  });
  after(async () => {
    backend?.child.kill('SIGKILL');
    await pgServer?.destroy();
  });

  it('five restarts: the process lives, every image is stored once and completes once', async () => {
    const requests = Array.from({ length: 12 }, (_, r) => ({
      key: randomUUID(),
      files: [0, 1, 2].map((i) => ({ name: `r${r}-f${i}.jpg`, data: photos[i]! })),
    }));
    let restarting = true;
    const restarts = (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(700); // Real time: the restarts are spread over the batch as a real outage would be.
        await pgServer.restart(400);
      }
      restarting = false;
    })();
    const answers: UploadResponse[] = [];
    for (const r of requests) {
      answers.push(await uploadWithRetries(backend.url, r.files, r.key));
      if (restarting) await sleep(200); // Real time: uploads paced to fall across the restarts.
    }
    await restarts;
    assert.equal(backend.child.exitCode, null, `the backend never exited:\n${backend.output().slice(-3000)}`);

    const pool = new pg.Pool({ connectionString: pgServer.url });
    try {
      await waitForQueueSettled(pool, 90_000);
      const { rows } = await pool.query<{ filename: string; status: string; n: number }>(
        'SELECT filename, status, count(*) OVER (PARTITION BY filename)::int AS n FROM processed_images ORDER BY id',
      );
      assert.equal(rows.length, 36, 'every file stored exactly once');
      for (const row of rows) {
        assert.equal(row.n, 1, `${row.filename} stored once`);
        assert.equal(row.status, 'completed', `${row.filename} completed`);
      }
      const ids = answers.flatMap((a) => a.images.map((i) => i.id));
      assert.equal(new Set(ids).size, 36, 'the answers name 36 distinct images');
    } finally {
      await pool.end();
    }
    assert.equal(backend.child.exitCode, null);
  });

  it('is not ready while the database is down, and ready again after', async () => {
    assert.equal((await fetch(`${backend.url}/readyz`)).status, 200);
    await pgServer.stop();
    try {
      await waitFor(async () => (await fetch(`${backend.url}/readyz`)).status === 503, 10_000, 100);
      const res = await fetch(`${backend.url}/api/v1/images`, { method: 'POST', body: formData([{ name: 'down.jpg', data: photos[0]! }]) });
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, 'DATABASE_UNAVAILABLE');
    } finally {
      await pgServer.start();
    }
    await waitFor(async () => (await fetch(`${backend.url}/readyz`)).status === 200, 20_000, 100);
    assert.equal(backend.child.exitCode, null);
  });
});
