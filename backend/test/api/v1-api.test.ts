/** /api/v1: list/filter/paging, one image, original, processed, retry, delete, batches, ZIP, stats, OpenAPI. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import yauzl from 'yauzl';
import type { BatchSummary, ImageListResponse, ImageSummary, Stats, UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage, truncate } from '../support/images.js';

async function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) {
          reject(err);
          return;
        }
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return files;
}

describe('/api/v1', () => {
  let t: TestBackend;
  let batchId: string;
  let uploaded: UploadResponse;
  const originals: Buffer[] = [];

  before(async () => {
    t = await startTestBackend();
    batchId = randomUUID();
    originals.push(await makeImage({ width: 2400, height: 1800, seed: 11 }));
    originals.push(await makeImage({ width: 1200, height: 1600, seed: 12 }));
    originals.push(truncate(await makeImage({ width: 1200, height: 900, seed: 13 }), 0.4));
    const res = await upload(
      t.url,
      [
        { name: 'a.jpg', data: originals[0]! },
        { name: 'b.jpg', data: originals[1]! },
        { name: 'c.jpg', data: originals[2]! },
      ],
      { batchId },
    );
    assert.equal(res.status, 202);
    uploaded = (await res.json()) as UploadResponse;
    assert.equal(uploaded.batchId, batchId);
    await waitFor(async () => {
      const { body } = await getJson<BatchSummary>(`${t.url}/api/v1/batches/${batchId}`);
      return body.completed + body.failed === 3;
    });
  });
  after(async () => {
    await t.close();
  });

  it('adds later uploads to the same batch and lists with filters and paging', async () => {
    const res = await upload(t.url, [{ name: 'd.jpg', data: await makeImage({ width: 700, height: 500 }) }], { batchId });
    assert.equal(((await res.json()) as UploadResponse).batchId, batchId);
    await upload(t.url, [{ name: 'other.jpg', data: await makeImage({ width: 300, height: 200 }) }]);
    await waitFor(async () => (await getJson<Stats>(`${t.url}/api/v1/stats`)).body.completed === 4);

    const all = (await getJson<ImageListResponse>(`${t.url}/api/v1/images?batchId=${batchId}`)).body;
    assert.equal(all.total, 4);
    assert.deepEqual(
      all.images.map((i) => i.filename),
      ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'],
    );
    const page = (await getJson<ImageListResponse>(`${t.url}/api/v1/images?batchId=${batchId}&limit=2&offset=2`)).body;
    assert.deepEqual(
      page.images.map((i) => i.filename),
      ['c.jpg', 'd.jpg'],
    );
    assert.equal(page.total, 4);
    const failed = (await getJson<ImageListResponse>(`${t.url}/api/v1/images?status=failed`)).body;
    assert.deepEqual(
      failed.images.map((i) => i.filename),
      ['c.jpg'],
    );
    const everything = (await getJson<ImageListResponse>(`${t.url}/api/v1/images`)).body;
    assert.equal(everything.total, 5);
    assert.equal(everything.images[0]!.filename, 'other.jpg', 'newest first without a batch filter');
  });

  it('returns one image, its original bytes and its processed JPEG', async () => {
    const id = uploaded.images[0]!.id;
    const { status, body } = await getJson<ImageSummary>(`${t.url}/api/v1/images/${id}`);
    assert.equal(status, 200);
    assert.equal(body.status, 'completed');
    assert.equal(body.contentType, 'image/jpeg');
    assert.deepEqual([body.originalWidth, body.originalHeight, body.width, body.height], [2400, 1800, 800, 600]);
    assert.equal(body.originalBytes, originals[0]!.length);
    assert.ok(body.processedBytes! > 1000);
    assert.equal(body.attempts, 1);
    assert.ok(body.processingMs! >= 0);
    assert.ok(body.startedAt && body.processedAt);

    const original = Buffer.from(await (await fetch(`${t.url}/api/v1/images/${id}/original`)).arrayBuffer());
    assert.ok(original.equals(originals[0]!), 'original bytes come back unchanged');
    const processed = await fetch(`${t.url}/api/v1/images/${id}/processed?download`);
    assert.equal(processed.headers.get('content-type'), 'image/jpeg');
    assert.match(processed.headers.get('content-disposition') ?? '', /a_800x600\.jpg/);
    const meta = await sharp(Buffer.from(await processed.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [800, 600]);
  });

  it('retries a failed image (409 for one that has not failed) and deletes', async () => {
    const bad = uploaded.images[2]!.id;
    const good = uploaded.images[0]!.id;
    const conflict = await fetch(`${t.url}/api/v1/images/${good}/retry`, { method: 'POST' });
    assert.equal(conflict.status, 409);
    assert.equal(((await conflict.json()) as { code: string }).code, 'NOT_FAILED');
    const retry = await fetch(`${t.url}/api/v1/images/${bad}/retry`, { method: 'POST' });
    assert.equal(retry.status, 202);
    const again = await waitFor(async () => {
      const { body } = await getJson<ImageSummary>(`${t.url}/api/v1/images/${bad}`);
      return body.status === 'failed' && body.attempts === 1 ? body : null;
    });
    assert.equal(again.errorCode, 'CORRUPT_IMAGE');
    assert.equal((await fetch(`${t.url}/api/v1/images/999999/retry`, { method: 'POST' })).status, 404);

    const del = await fetch(`${t.url}/api/v1/images/${bad}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await fetch(`${t.url}/api/v1/images/${bad}`)).status, 404);
    assert.equal((await fetch(`${t.url}/api/v1/images/${bad}`, { method: 'DELETE' })).status, 404);
  });

  it('streams the batch results as a ZIP of valid JPEGs', async () => {
    const res = await fetch(`${t.url}/api/v1/batches/${batchId}/zip`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const files = await unzip(Buffer.from(await res.arrayBuffer()));
    assert.deepEqual([...files.keys()].sort(), ['a_800x600.jpg', 'b_450x600.jpg', 'd_700x500.jpg']);
    for (const [name, data] of files) {
      const meta = await sharp(data).metadata();
      assert.equal(meta.format, 'jpeg', name);
    }
    // Only the images asked for (what the person still has on the page).
    const [a, b] = [uploaded.images[0]!.id, uploaded.images[1]!.id];
    const some = await fetch(`${t.url}/api/v1/batches/${batchId}/zip?ids=${a},${b}`);
    assert.deepEqual([...(await unzip(Buffer.from(await some.arrayBuffer()))).keys()].sort(), ['a_800x600.jpg', 'b_450x600.jpg']);
    assert.equal((await fetch(`${t.url}/api/v1/batches/${batchId}/zip?ids=abc`)).status, 404);
    assert.equal((await fetch(`${t.url}/api/v1/batches/${randomUUID()}/zip`)).status, 404);
    assert.equal((await fetch(`${t.url}/api/v1/batches/${randomUUID()}`)).status, 404);
  });

  it('publishes statistics and an OpenAPI document', async () => {
    const { body: stats } = await getJson<Stats>(`${t.url}/api/v1/stats`);
    for (const key of [
      'total',
      'pending',
      'processing',
      'completed',
      'failed',
      'activeThreads',
      'totalThreads',
      'queueSize',
      'avgProcessingMs',
      'processedCount',
      'recent',
    ] as const) {
      assert.ok(key in stats, key);
    }
    const { body: doc } = await getJson<{ openapi: string; paths: Record<string, unknown> }>(`${t.url}/api/v1/openapi.json`);
    assert.equal(doc.openapi, '3.1.0');
    for (const p of [
      '/images',
      '/images/{id}',
      '/images/{id}/processed',
      '/images/{id}/retry',
      '/batches/{batchId}/zip',
      '/stats',
      '/events',
      '/metrics',
      '/metrics/stream',
    ]) {
      assert.ok(p in doc.paths, p);
    }
  });
});
