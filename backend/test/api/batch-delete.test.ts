/**
 * DELETE /api/v1/batches/:id removes every row of the batch, even images
 * still being processed: the worker's guarded write then finds no row, and
 * the pod goes on with other work.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { BatchDeletion, BatchSummary, LegacyStatus, UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

async function rowsOf(t: TestBackend, batchId: string): Promise<number> {
  const c = new pg.Client({ connectionString: t.db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM processed_images WHERE batch_id = $1', [batchId]);
    return Number(rows[0]!.n);
  } finally {
    await c.end();
  }
}

describe('DELETE /api/v1/batches/:id', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend({ WORKER_THREADS: '1' });
  });
  after(async () => {
    await t.close();
  });

  it('deletes a finished batch, answers its counts, and leaves other batches alone', async () => {
    const files = await Promise.all([1, 2, 3].map(async (seed) => ({ name: `p${seed}.jpg`, data: await makeImage({ width: 400, height: 300, seed }) })));
    files.push({ name: 'notes.txt', data: Buffer.from('not an image') });
    const a = (await (await upload(t.url, files)).json()) as UploadResponse;
    const b = (await (await upload(t.url, files.slice(0, 1))).json()) as UploadResponse;
    for (const batch of [a, b]) {
      await waitFor(async () => {
        const s = (await getJson<BatchSummary>(`${t.url}/api/v1/batches/${batch.batchId}`)).body;
        return s.pending + s.processing === 0;
      });
    }
    const res = await fetch(`${t.url}/api/v1/batches/${a.batchId}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { batchId: a.batchId, deleted: 4, pending: 0, processing: 0, completed: 3, failed: 1 });
    assert.equal(await rowsOf(t, a.batchId), 0);
    assert.equal((await fetch(`${t.url}/api/v1/batches/${a.batchId}`)).status, 404);
    for (const image of a.images) assert.equal((await fetch(`${t.url}/api/v1/images/${image.id}`)).status, 404);
    assert.equal((await getJson<LegacyStatus>(`${t.url}/status/${b.images[0]!.id}/json`)).body.status, 'completed');
    assert.equal(await rowsOf(t, b.batchId), 1);
  });

  it('is described in the OpenAPI document', async () => {
    const { body } = await getJson<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(`${t.url}/api/v1/openapi.json`);
    const op = body.paths['/batches/{batchId}']?.delete;
    assert.ok(op, 'DELETE /batches/{batchId} is in the document');
    assert.deepEqual(Object.keys(op.responses).sort(), ['200', '401', '403', '404', '500', '503', '507']);
  });

  it('answers 404 for an unknown batch, a deleted one, or an id that is not a batch id', async () => {
    for (const id of [randomUUID(), 'not-a-uuid', '12']) {
      const res = await fetch(`${t.url}/api/v1/batches/${id}`, { method: 'DELETE' });
      assert.equal(res.status, 404, id);
      assert.equal(((await res.json()) as { code: string }).code, 'NOT_FOUND');
    }
  });

  it('deletes images still queued or processing; the workers find no row and the pod goes on', async () => {
    // One thread, several large images: most are pending, one is processing, when the DELETE arrives.
    const big = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async (seed) => ({ name: `big${seed}.jpg`, data: await makeImage({ width: 3000, height: 2000, seed }) })),
    );
    const batch = (await (await upload(t.url, big)).json()) as UploadResponse;
    const res = await fetch(`${t.url}/api/v1/batches/${batch.batchId}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as BatchDeletion;
    assert.equal(answer.deleted, 6);
    assert.ok(answer.pending + answer.processing >= 1, `something was still in flight: ${JSON.stringify(answer)}`);
    // Whatever the worker was doing ends without bringing the row back.
    await waitFor(async () => (await getJson<{ activeThreads: number }>(`${t.url}/api/v1/stats`)).body.activeThreads === 0);
    assert.equal(await rowsOf(t, batch.batchId), 0);
    // And the pipeline still takes and completes new work.
    const next = (await (await upload(t.url, [{ name: 'after.jpg', data: await makeImage({ width: 500, height: 400 }) }])).json()) as UploadResponse;
    await waitFor(async () => (await getJson<LegacyStatus>(`${t.url}/status/${next.images[0]!.id}/json`)).body.status === 'completed');
    assert.equal(await rowsOf(t, batch.batchId), 0);
  });
});
