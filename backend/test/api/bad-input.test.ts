/** One broken file never fails its batch; bad requests get clear JSON errors, never a 500. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ImageSummary, UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage, truncate } from '../support/images.js';

describe('bad input over HTTP', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend({ MAX_UPLOAD_BYTES: String(2 * 1024 * 1024), MAX_PIXELS: String(30_000_000) });
  });
  after(async () => {
    await t.close();
  });

  it('gives each bad file its own reason and processes the rest of the batch', async () => {
    const good1 = await makeImage({ width: 2000, height: 1500, seed: 1 });
    const good2 = await makeImage({ width: 900, height: 1200, seed: 2 });
    const small = await sharp({ create: { width: 16, height: 16, channels: 3, background: 'blue' } })
      .jpeg()
      .toBuffer();
    const bomb = Buffer.from(small);
    const sof = bomb.indexOf(Buffer.from([0xff, 0xc0]));
    bomb.writeUInt16BE(20000, sof + 5);
    bomb.writeUInt16BE(20000, sof + 7);
    const huge = Buffer.concat([await makeImage({ width: 800, height: 600 }), Buffer.alloc(3 * 1024 * 1024, 1)]);
    const files = [
      { name: 'good1.jpg', data: good1 },
      { name: 'empty.jpg', data: Buffer.alloc(0) },
      { name: 'notes.jpg', data: Buffer.from('these are my notes, not a photo') },
      { name: 'cut.jpg', data: truncate(await makeImage({ width: 1600, height: 1200, seed: 3 }), 0.5) },
      { name: 'bomb.jpg', data: bomb },
      { name: 'huge.jpg', data: huge },
      { name: 'good2.jpg', data: good2 },
    ];
    const res = await upload(t.url, files);
    assert.equal(res.status, 202);
    const body = (await res.json()) as UploadResponse;
    assert.deepEqual(
      body.images.map((i) => i.filename),
      files.map((f) => f.name),
    );
    const byName = Object.fromEntries(body.images.map((i) => [i.filename, i]));
    assert.equal(byName['empty.jpg']!.code, 'EMPTY_FILE');
    assert.equal(byName['notes.jpg']!.code, 'UNSUPPORTED_TYPE');
    assert.equal(byName['bomb.jpg']!.code, 'TOO_MANY_PIXELS');
    assert.equal(byName['huge.jpg']!.code, 'FILE_TOO_LARGE');
    for (const name of ['empty.jpg', 'notes.jpg', 'bomb.jpg', 'huge.jpg']) {
      assert.equal(byName[name]!.status, 'failed');
      assert.ok(byName[name]!.error && byName[name]!.error.length > 10, `${name} has a readable reason`);
    }
    assert.equal(body.accepted, 3);
    assert.equal(body.rejected, 4);

    const final = await waitFor(async () => {
      const { body: list } = await getJson<{ images: ImageSummary[] }>(`${t.url}/api/v1/images?batchId=${body.batchId}`);
      return list.images.every((i) => i.status === 'completed' || i.status === 'failed') ? list.images : null;
    });
    const state = Object.fromEntries(final.map((i) => [i.filename, i]));
    assert.equal(state['good1.jpg']!.status, 'completed');
    assert.equal(state['good2.jpg']!.status, 'completed');
    assert.deepEqual([state['good2.jpg']!.width, state['good2.jpg']!.height], [450, 600]);
    // The truncated file passes the header check and fails in the worker, with its reason.
    assert.equal(state['cut.jpg']!.status, 'failed');
    assert.equal(state['cut.jpg']!.errorCode, 'CORRUPT_IMAGE');
    assert.match(state['cut.jpg']!.error!, /corrupt or truncated/);
    // Never `completed` without a valid JPEG.
    for (const img of final.filter((i) => i.status === 'completed')) {
      const jpeg = Buffer.from(await (await fetch(`${t.url}/api/v1/images/${img.id}/processed`)).arrayBuffer());
      assert.equal((await sharp(jpeg).metadata()).format, 'jpeg');
    }
  });

  it('rejects malformed requests with JSON errors', async () => {
    const notMultipart = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: JSON.stringify({ a: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notMultipart.status, 415);
    assert.equal(((await notMultipart.json()) as { code: string }).code, 'NOT_MULTIPART');

    const noFiles = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: new FormData() });
    assert.equal(noFiles.status, 400);
    assert.equal(((await noFiles.json()) as { code: string }).code, 'NO_FILES');

    const cut = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: '--xyz\r\nContent-Disposition: form-data; name="images"; filename="a.jpg"\r\n\r\nabc',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    assert.equal(cut.status, 400);
    assert.equal(((await cut.json()) as { code: string }).code, 'MALFORMED_MULTIPART');

    const badBatch = await upload(t.url, [{ name: 'a.jpg', data: Buffer.from('x') }], { batchId: 'not-a-uuid' });
    assert.equal(badBatch.status, 400);
    assert.equal((await getJson(`${t.url}/api/v1/images?status=bogus`)).status, 400);
    assert.equal((await getJson(`${t.url}/api/v1/images?limit=0`)).status, 400);
    assert.equal((await getJson(`${t.url}/api/v1/nope`)).status, 404);
  });
});
