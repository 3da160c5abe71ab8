/**
 * GET /api/v1/batches: every batch, the latest upload first, paged, with
 * its counts by status and the bytes of its completed results against
 * their originals (the apps' "Recent batches"); bad paging is refused; with
 * API_TOKEN set it answers only with the token, which sees every batch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { batchListResponseSchema, type BatchListResponse, type BatchSummary, type ImageListResponse, type UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend, type UploadFile } from '../support/backend.js';
import { makeImage } from '../support/images.js';

async function photos(seeds: number[]): Promise<UploadFile[]> {
  return Promise.all(seeds.map(async (seed) => ({ name: `p${seed}.jpg`, data: await makeImage({ width: 1200, height: 900, seed }) })));
}

async function settled(t: TestBackend, batchId: string): Promise<void> {
  await waitFor(async () => {
    const s = (await getJson<BatchSummary>(`${t.url}/api/v1/batches/${batchId}`)).body;
    return s.pending + s.processing === 0;
  }, 60_000);
}

async function list(t: TestBackend, query = '', token?: string): Promise<BatchListResponse> {
  const { status, body } = await getJson(`${t.url}/api/v1/batches${query}`, token);
  assert.equal(status, 200, JSON.stringify(body));
  // What the route answers is what the contract (and so the OpenAPI document) says.
  return batchListResponseSchema.parse(body);
}

async function sql(t: TestBackend, text: string, params: unknown[]): Promise<void> {
  const c = new pg.Client({ connectionString: t.db.url });
  await c.connect();
  try {
    await c.query(text, params);
  } finally {
    await c.end();
  }
}

describe('GET /api/v1/batches', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend({ WORKER_THREADS: '2' });
  });
  after(async () => {
    await t.close();
  });

  it('answers an empty page when there is no batch', async () => {
    assert.deepEqual(await list(t), { batches: [], total: 0, limit: 20, offset: 0 });
  });

  it('lists each batch once, the latest upload first, with its counts and the bytes saved', async () => {
    const files = [...(await photos([1, 2])), { name: 'notes.jpg', data: Buffer.from('not an image') }];
    const a = (await (await upload(t.url, files)).json()) as UploadResponse;
    const b = (await (await upload(t.url, await photos([3]))).json()) as UploadResponse;
    await Promise.all([settled(t, a.batchId), settled(t, b.batchId)]);

    const page = await list(t);
    assert.equal(page.total, 2);
    assert.deepEqual(
      page.batches.map((x) => x.batchId),
      [b.batchId, a.batchId],
      'the latest upload first',
    );
    const first = page.batches[1]!;
    assert.deepEqual(
      { total: first.total, pending: first.pending, processing: first.processing, completed: first.completed, failed: first.failed },
      { total: 3, pending: 0, processing: 0, completed: 2, failed: 1 },
    );
    const images = (await getJson<ImageListResponse>(`${t.url}/api/v1/images?batchId=${a.batchId}`)).body.images.filter((i) => i.status === 'completed');
    assert.equal(
      first.originalBytes,
      images.reduce((sum, i) => sum + (i.originalBytes ?? 0), 0),
    );
    assert.equal(
      first.resultBytes,
      images.reduce((sum, i) => sum + (i.processedBytes ?? 0), 0),
    );
    assert.ok(first.resultBytes > 0 && first.resultBytes < first.originalBytes, 'the results are smaller');
    assert.ok(Date.parse(first.createdAt) <= Date.parse(first.updatedAt));
    assert.ok(Date.parse(first.updatedAt) >= Date.parse(images[0]!.processedAt!), 'updated when its last result came');

    // More photos into the older batch: it is the latest again.
    await upload(t.url, await photos([4]), { batchId: a.batchId });
    await settled(t, a.batchId);
    const again = await list(t);
    assert.deepEqual(
      again.batches.map((x) => x.batchId),
      [a.batchId, b.batchId],
    );
    assert.equal(again.batches[0]!.total, 4);
  });

  it('pages with limit and offset, the total counting every batch', async () => {
    for (const seed of [5, 6, 7]) await upload(t.url, await photos([seed]));
    const all = await list(t, '?limit=200');
    assert.equal(all.total, 5);
    assert.equal(all.batches.length, 5);
    const first = await list(t, '?limit=2');
    const second = await list(t, '?limit=2&offset=2');
    const third = await list(t, '?limit=2&offset=4');
    assert.deepEqual([first.limit, first.offset, second.offset, third.batches.length], [2, 0, 2, 1]);
    assert.deepEqual(
      [...first.batches, ...second.batches, ...third.batches].map((x) => x.batchId),
      all.batches.map((x) => x.batchId),
    );
    assert.deepEqual((await list(t, '?offset=50')).batches, [], 'past the end: an empty page');
  });

  it('counts the saving only where the original is still stored (the retention policy drops originals)', async () => {
    const batch = (await (await upload(t.url, await photos([8, 9]))).json()) as UploadResponse;
    await settled(t, batch.batchId);
    const before = (await list(t, '?limit=200')).batches.find((x) => x.batchId === batch.batchId)!;
    const dropped = batch.images[0]!.id;
    const kept = (await getJson<{ originalBytes: number; processedBytes: number }>(`${t.url}/api/v1/images/${batch.images[1]!.id}`)).body;
    // As the retention policy drops an original.
    await sql(t, 'UPDATE processed_images SET original_key = NULL, original_bytes = NULL, original_dropped_at = now() WHERE id = $1', [dropped]);
    const after = (await list(t, '?limit=200')).batches.find((x) => x.batchId === batch.batchId)!;
    assert.equal(after.completed, 2, 'still two results');
    assert.deepEqual([after.originalBytes, after.resultBytes], [kept.originalBytes, kept.processedBytes]);
    assert.ok(after.originalBytes < before.originalBytes);
  });

  it('leaves out a deleted batch', async () => {
    const batch = (await (await upload(t.url, await photos([10]))).json()) as UploadResponse;
    const total = (await list(t)).total;
    assert.equal((await fetch(`${t.url}/api/v1/batches/${batch.batchId}`, { method: 'DELETE' })).status, 200);
    const page = await list(t, '?limit=200');
    assert.equal(page.total, total - 1);
    assert.ok(!page.batches.some((x) => x.batchId === batch.batchId));
  });

  it('refuses bad paging with 400 INVALID_PARAMETER naming the parameter', async () => {
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=ten', 'limit'],
      ['?offset=-1', 'offset'],
      ['?offset=1.5', 'offset'],
    ] as const) {
      const res = await fetch(`${t.url}/api/v1/batches${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(body.code, 'INVALID_PARAMETER', query);
      assert.match(body.error, new RegExp(`^${field}: `), query);
    }
  });

  it('is in the OpenAPI document with its query parameters', async () => {
    const { body } = await getJson<{ paths: Record<string, Record<string, { parameters: { name: string }[]; responses: Record<string, unknown> }>> }>(
      `${t.url}/api/v1/openapi.json`,
    );
    const op = body.paths['/batches']?.get;
    assert.ok(op, 'GET /batches is in the document');
    assert.deepEqual(op.parameters.map((p) => p.name).sort(), ['limit', 'offset']);
    assert.deepEqual(Object.keys(op.responses).sort(), ['200', '400', '401', '403', '500', '503', '507']);
  });
});

describe('GET /api/v1/batches with API_TOKEN set', () => {
  const TOKEN = 'batch-list-token';
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend({ WORKER_THREADS: '1', API_TOKEN: TOKEN });
  });
  after(async () => {
    await t.close();
  });

  it('answers only with the token, and the one token sees every batch', async () => {
    const a = (await (await upload(t.url, await photos([1]), { token: TOKEN })).json()) as UploadResponse;
    const b = (await (await upload(t.url, await photos([2]), { token: TOKEN })).json()) as UploadResponse;
    assert.equal((await fetch(`${t.url}/api/v1/batches`)).status, 401);
    assert.equal((await fetch(`${t.url}/api/v1/batches`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const page = await list(t, '', TOKEN);
    assert.deepEqual(page.batches.map((x) => x.batchId).sort(), [a.batchId, b.batchId].sort());
  });
});
