/**
 * What a retry with an Idempotency-Key gets when the first answer is no
 * longer true (issue 18, item 7): the upload was deleted since (410 naming
 * the deleted images, nothing stored again), the file differs only in its
 * middle or comes from another folder (422: another upload under the same
 * key). And a key stored by the earlier fingerprint still replays.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { formData, startTestBackend, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

describe('Idempotency-Key replays', () => {
  let t: TestBackend;
  let pool: pg.Pool;
  let photo: Buffer;
  before(async () => {
    t = await startTestBackend({ POD_NAME: 'replays' });
    pool = new pg.Pool({ connectionString: t.db.url });
    // Larger than 128 KiB, so a change in its middle is outside the first and last 64 KiB.
    photo = await makeImage({ width: 1200, height: 900, seed: 9, grain: 10 });
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  const post = (files: { name: string; data: Buffer }[], key: string) =>
    fetch(`${t.url}/api/v1/images`, { method: 'POST', body: formData(files), headers: { 'idempotency-key': key } });
  const rows = async (like: string) =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images WHERE filename LIKE $1', [like])).rows[0]!.n;

  it('after the batch was deleted: 410 naming the deleted images, and nothing is stored again', async () => {
    const key = randomUUID();
    const first = (await (
      await post(
        [
          { name: 'gone-1.jpg', data: photo },
          { name: 'gone-2.jpg', data: photo },
        ],
        key,
      )
    ).json()) as UploadResponse;
    assert.equal((await fetch(`${t.url}/api/v1/batches/${first.batchId}`, { method: 'DELETE' })).status, 200);
    const again = await post(
      [
        { name: 'gone-1.jpg', data: photo },
        { name: 'gone-2.jpg', data: photo },
      ],
      key,
    );
    assert.equal(again.status, 410);
    const body = (await again.json()) as { code: string; deleted: number[]; remaining: number[] };
    assert.equal(body.code, 'IDEMPOTENT_UPLOAD_DELETED');
    assert.deepEqual(
      body.deleted,
      first.images.map((i) => i.id),
    );
    assert.deepEqual(body.remaining, []);
    assert.equal(await rows('gone-%'), 0);
  });

  it('after one of its images was deleted: 410 naming it and the one that remains', async () => {
    const key = randomUUID();
    const first = (await (
      await post(
        [
          { name: 'half-1.jpg', data: photo },
          { name: 'half-2.jpg', data: photo },
        ],
        key,
      )
    ).json()) as UploadResponse;
    const [a, b] = first.images;
    assert.equal((await fetch(`${t.url}/api/v1/images/${a!.id}`, { method: 'DELETE' })).status, 204);
    const again = await post(
      [
        { name: 'half-1.jpg', data: photo },
        { name: 'half-2.jpg', data: photo },
      ],
      key,
    );
    assert.equal(again.status, 410);
    const body = (await again.json()) as { deleted: number[]; remaining: number[] };
    assert.deepEqual([body.deleted, body.remaining], [[a!.id], [b!.id]]);
    assert.equal(await rows('half-%'), 1);
  });

  it('a file changed only in its middle is another upload: 422, nothing stored', async () => {
    const key = randomUUID();
    assert.equal((await post([{ name: 'middle.jpg', data: photo }], key)).status, 202);
    const changed = Buffer.from(photo);
    const at = Math.floor(changed.length / 2);
    changed[at] = changed[at]! ^ 0xff;
    const again = await post([{ name: 'middle.jpg', data: changed }], key);
    assert.equal(again.status, 422);
    assert.equal(((await again.json()) as { code: string }).code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(await rows('middle.jpg'), 1);
  });

  it('the same file under another folder is another upload: 422, and the first keeps its folder', async () => {
    const key = randomUUID();
    const first = (await (await post([{ name: 'trip/a/folder.jpg', data: photo }], key)).json()) as UploadResponse;
    const again = await post([{ name: 'trip/b/folder.jpg', data: photo }], key);
    assert.equal(again.status, 422);
    const same = await post([{ name: 'trip/a/folder.jpg', data: photo }], key);
    assert.equal(same.status, 202);
    assert.deepEqual(await same.json(), first);
    const { rows: stored } = await pool.query<{ source_path: string }>("SELECT source_path FROM processed_images WHERE filename = 'folder.jpg'");
    assert.deepEqual(
      stored.map((r) => r.source_path),
      ['trip/a/folder.jpg'],
    );
  });

  it('a key stored by the earlier fingerprint (first and last 64 KiB) still replays after an upgrade', async () => {
    const key = randomUUID();
    const first = await post([{ name: 'upgrade.jpg', data: photo }], key);
    const firstBody = await first.text();
    // As the earlier version computed and stored it.
    const edge = 64 * 1024;
    const v1 = createHash('sha256')
      .update(`v1\0\0${JSON.stringify({})}\0`)
      .update(`images\0upgrade.jpg\0${photo.length}\0`)
      .update(photo.subarray(0, edge))
      .update(photo.subarray(Math.max(edge, photo.length - edge)))
      .digest('hex');
    await pool.query('UPDATE upload_requests SET fingerprint = $2 WHERE key = $1', [key, v1]);
    const again = await post([{ name: 'upgrade.jpg', data: photo }], key);
    assert.equal(again.status, 202, await again.clone().text());
    assert.equal(await again.text(), firstBody);
    assert.equal(await rows('upgrade.jpg'), 1);
  });
});
