/**
 * Storage stays bounded: originals are dropped RETENTION_ORIGINAL_HOURS after
 * their image finished (row, result and metadata kept), whole batches are
 * deleted RETENTION_BATCH_DAYS after their last activity. Time is moved by
 * back-dating rows in the real database; the backend's own sweep does the rest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { BatchSummary, ImageSummary, UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage, truncate } from '../support/images.js';

const RETENTION = { RETENTION_ORIGINAL_HOURS: '1', RETENTION_BATCH_DAYS: '2', RETENTION_SWEEP_SECONDS: '0.3' };

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function settled(url: string, batchId: string): Promise<void> {
  await waitFor(async () => {
    const { status, body } = await getJson<BatchSummary>(`${url}/api/v1/batches/${batchId}`);
    return status === 200 && body.pending + body.processing === 0;
  });
}

/** The value of one counter in the Prometheus text of a backend. */
async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('retention on one backend', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend(RETENTION);
  });
  after(async () => {
    await t.close();
  });

  it('drops an original an hour after its image finished, keeps the row, result and metadata, and says so', async () => {
    const res = await upload(t.url, [
      { name: 'old.jpg', data: await makeImage({ width: 1200, height: 900, seed: 1 }) },
      { name: 'new.jpg', data: await makeImage({ width: 1200, height: 900, seed: 2 }) },
      { name: 'cut.jpg', data: truncate(await makeImage({ width: 1600, height: 1200, seed: 3 }), 0.4) },
    ]);
    const { batchId, images } = (await res.json()) as UploadResponse;
    const [oldId, newId, cutId] = images.map((i) => i.id) as [number, number, number];
    await settled(t.url, batchId);
    assert.equal((await fetch(`${t.url}/api/v1/images/${oldId}/original`)).status, 200);

    await sql(t.db.url, `UPDATE processed_images SET processed_at = now() - interval '61 minutes' WHERE id = ANY($1::bigint[])`, [[oldId, cutId]]);
    const gone = await waitFor(async () => {
      const r = await fetch(`${t.url}/api/v1/images/${oldId}/original`);
      return r.status === 200 ? (await r.body?.cancel(), null) : r;
    }, 15_000);
    assert.equal(gone.status, 410);
    const body = (await gone.json()) as { code: string; error: string };
    assert.equal(body.code, 'ORIGINAL_EXPIRED');
    assert.match(body.error, /retention/);

    // The result, the row and its metadata stay.
    const processed = await fetch(`${t.url}/api/v1/images/${oldId}/processed`);
    assert.equal(processed.status, 200);
    assert.ok((await processed.arrayBuffer()).byteLength > 1000);
    assert.equal((await fetch(`${t.url}/download/${oldId}`)).status, 200);
    const meta = (await getJson<ImageSummary>(`${t.url}/api/v1/images/${oldId}`)).body;
    assert.equal(meta.status, 'completed');
    assert.equal(meta.originalBytes, null);
    assert.deepEqual([meta.originalWidth, meta.originalHeight, meta.width, meta.height], [1200, 900, 800, 600]);

    // A failed image's original goes too, and a retry says it cannot.
    await waitFor(
      async () =>
        (await sql(t.db.url, 'SELECT 1 FROM processed_images WHERE id = $1 AND original_bytes IS NULL AND original_key IS NULL', [cutId])).length === 1,
    );
    const retry = await fetch(`${t.url}/api/v1/images/${cutId}/retry`, { method: 'POST' });
    assert.equal(retry.status, 409);
    assert.equal(((await retry.json()) as { code: string }).code, 'ORIGINAL_EXPIRED');
    assert.equal((await getJson<ImageSummary>(`${t.url}/api/v1/images/${cutId}`)).body.status, 'failed');

    // The image finished a moment ago keeps its original.
    assert.equal((await fetch(`${t.url}/api/v1/images/${newId}/original`)).status, 200);
    const rows = await sql<{ id: number; has: boolean }>(
      t.db.url,
      'SELECT id, original_key IS NOT NULL AS has FROM processed_images WHERE batch_id = $1 ORDER BY id',
      [batchId],
    );
    assert.deepEqual(
      rows.map((r) => r.has),
      [false, true, false],
    );
    assert.equal(await counter(t.url, 'imgfleet_retention_originals_dropped_total'), 2);
  });

  it('deletes a whole batch two days after its last activity, and no batch still at work', async () => {
    const image = await makeImage({ width: 640, height: 480 });
    const upBatch = async (n: number) =>
      (await (
        await upload(
          t.url,
          Array.from({ length: n }, (_, i) => ({ name: `f${i}.jpg`, data: image })),
        )
      ).json()) as UploadResponse;
    const stale = await upBatch(2);
    const recent = await upBatch(1);
    const mixed = await upBatch(2);
    for (const b of [stale, recent, mixed]) await settled(t.url, b.batchId);
    const deletedBefore = await counter(t.url, 'imgfleet_retention_images_deleted_total');

    // One statement: the sweep sees all of it or none of it.
    await sql(
      t.db.url,
      `UPDATE processed_images SET uploaded_at = now() - interval '3 days',
              processed_at = CASE WHEN id = $3 THEN now() - interval '1 day' ELSE now() - interval '3 days' END
        WHERE batch_id = ANY($1::uuid[]) OR id = $2 OR id = $3`,
      [[stale.batchId], mixed.images[0]!.id, mixed.images[1]!.id],
    );
    await waitFor(async () => (await fetch(`${t.url}/api/v1/batches/${stale.batchId}`)).status === 404, 15_000);
    assert.equal((await sql(t.db.url, 'SELECT 1 FROM processed_images WHERE batch_id = $1', [stale.batchId])).length, 0);
    assert.equal((await getJson<BatchSummary>(`${t.url}/api/v1/batches/${recent.batchId}`)).body.total, 1);
    // Its last image finished a day ago: the batch stays, old first image included.
    assert.equal((await getJson<BatchSummary>(`${t.url}/api/v1/batches/${mixed.batchId}`)).body.total, 2);
    assert.equal((await counter(t.url, 'imgfleet_retention_images_deleted_total')) - deletedBefore, 2);
    assert.ok((await counter(t.url, 'imgfleet_retention_batches_deleted_total')) >= 1);
  });
});

describe('retention across three replicas', () => {
  it('drops every expired original exactly once, the three sweeps sharing the work', async () => {
    const first = await startTestBackend({ ...RETENTION, RETENTION_SWEEP_ROWS: '3', WORKER_THREADS: '1', POD_NAME: 'pod-a' });
    const others = await Promise.all(
      ['pod-b', 'pod-c'].map((pod) => startTestBackend({ ...RETENTION, RETENTION_SWEEP_ROWS: '3', WORKER_THREADS: '1', POD_NAME: pod }, first.db)),
    );
    const all = [first, ...others];
    try {
      const image = await makeImage({ width: 400, height: 300 });
      const { batchId } = (await (
        await upload(
          first.url,
          Array.from({ length: 12 }, (_, i) => ({ name: `r${i}.jpg`, data: image })),
        )
      ).json()) as UploadResponse;
      await settled(first.url, batchId);
      await sql(first.db.url, `UPDATE processed_images SET processed_at = now() - interval '2 hours' WHERE batch_id = $1`, [batchId]);
      await waitFor(
        async () => (await sql(first.db.url, 'SELECT 1 FROM processed_images WHERE batch_id = $1 AND original_key IS NOT NULL', [batchId])).length === 0,
        20_000,
      );
      const dropped = await Promise.all(all.map((b) => counter(b.url, 'imgfleet_retention_originals_dropped_total')));
      assert.equal(
        dropped.reduce((a, b) => a + b, 0),
        12,
        `per pod: ${dropped.join(', ')}`,
      );
      assert.equal((await sql(first.db.url, 'SELECT 1 FROM processed_images WHERE batch_id = $1', [batchId])).length, 12);
    } finally {
      for (const b of others) await b.backend.stop(2000);
      await first.close();
    }
  });
});
