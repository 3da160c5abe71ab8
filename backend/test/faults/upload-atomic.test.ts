/**
 * An upload is all-or-nothing and idempotent per request (issue 9, item 4):
 * a request that fails stores nothing, and a retry with the same
 * Idempotency-Key gets the first answer and stores nothing again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { formData, startTestBackend, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';
import { BOUNDARY, connect, jsonOf, multipartBody, requestHead, statusOf } from '../support/raw-http.js';

describe('atomic, idempotent uploads', () => {
  let t: TestBackend;
  let pool: pg.Pool;
  let a: Buffer;
  let b: Buffer;
  before(async () => {
    t = await startTestBackend({ MAX_FILES_PER_UPLOAD: '3' });
    pool = new pg.Pool({ connectionString: t.db.url });
    a = await makeImage({ width: 1200, height: 900, seed: 11 });
    b = await makeImage({ width: 900, height: 1200, seed: 12 });
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  const rowCount = async (like: string) =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images WHERE filename LIKE $1', [like])).rows[0]!.n;

  const post = (files: { name: string; data: Buffer }[], key?: string, path = '/api/v1/images') =>
    fetch(new URL(path, t.url), { method: 'POST', body: formData(files), headers: key ? { 'idempotency-key': key } : {} });

  it('a malformed third part after two good ones stores nothing and names every part', async () => {
    const good = multipartBody([
      { name: 'm-1.jpg', data: a },
      { name: 'm-2.jpg', data: b },
    ]).subarray(0, -Buffer.byteLength(`--${BOUNDARY}--\r\n`));
    // The third part's headers never end: busboy reports a malformed part.
    const body = Buffer.concat([
      good,
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="images"; filename="m-3.jpg"\r\nX: ${'y'.repeat(90_000)}`),
    ]);
    const conn = await connect(t.url);
    await conn.write(requestHead(t.url, '/api/v1/images', body.length));
    await conn.write(body);
    const answer = await conn.response;
    assert.equal(statusOf(answer), 400, answer.slice(0, 400));
    const json = jsonOf<{ code: string; stored: number; images: { filename: string; status: string }[] }>(answer);
    assert.equal(json.code, 'MALFORMED_MULTIPART');
    assert.equal(json.stored, 0);
    assert.deepEqual(
      json.images.map((i) => [i.filename, i.status]),
      [
        ['m-1.jpg', 'not_stored'],
        ['m-2.jpg', 'not_stored'],
      ],
    );
    assert.equal(await rowCount('m-%'), 0, 'nothing of a failed request is committed');
  });

  it('a retry with the same Idempotency-Key returns the same ids and adds no row', async () => {
    const key = randomUUID();
    const first = await post(
      [
        { name: 'k-1.jpg', data: a },
        { name: 'k-2.jpg', data: b },
      ],
      key,
    );
    assert.equal(first.status, 202, await first.clone().text());
    const firstBody = (await first.json()) as UploadResponse;
    const again = await post(
      [
        { name: 'k-1.jpg', data: a },
        { name: 'k-2.jpg', data: b },
      ],
      key,
    );
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await again.json(), firstBody);
    assert.equal(await rowCount('k-%'), 2);
  });

  it('concurrent duplicates: one stores, the others are told to retry (409, Retry-After) and then replay its answer', async () => {
    const key = randomUUID();
    // A client as the apps are: a 409 IDEMPOTENCY_IN_PROGRESS is sent again (issue 18, item 6: nobody waits holding a slot).
    const untilAnswered = async (): Promise<Response> => {
      for (;;) {
        const res = await post([{ name: 'c-1.jpg', data: a }], key);
        if (res.status !== 409) return res;
        const body = (await res.json()) as { code: string };
        assert.equal(body.code, 'IDEMPOTENCY_IN_PROGRESS');
        assert.equal(res.headers.get('retry-after'), '2');
      }
    };
    const answers = await Promise.all([0, 1, 2].map(untilAnswered));
    const bodies = await Promise.all(answers.map(async (r) => ({ status: r.status, body: (await r.json()) as UploadResponse })));
    for (const r of bodies) assert.equal(r.status, 202);
    assert.equal(new Set(bodies.map((r) => r.body.images[0]!.id)).size, 1);
    assert.equal(await rowCount('c-%'), 1);
  });

  it('the same key with other files is refused with 422 and stores nothing', async () => {
    const key = randomUUID();
    assert.equal((await post([{ name: 'r-1.jpg', data: a }], key)).status, 202);
    const other = await post([{ name: 'r-2.jpg', data: b }], key);
    assert.equal(other.status, 422);
    assert.equal(((await other.json()) as { code: string }).code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(await rowCount('r-%'), 1);
  });

  it('a key is refused when it is not a sensible token', async () => {
    const res = await post([{ name: 'bad-key.jpg', data: a }], 'x'.repeat(300));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'INVALID_IDEMPOTENCY_KEY');
    assert.equal(await rowCount('bad-key%'), 0);
  });

  it('files beyond MAX_FILES_PER_UPLOAD each get an outcome: not read', async () => {
    const files = [1, 2, 3, 4, 5].map((i) => ({ name: `lim-${i}.jpg`, data: i % 2 ? a : b }));
    const res = await post(files);
    assert.equal(res.status, 202);
    const body = (await res.json()) as UploadResponse & { notRead: { filename: string; code: string; error: string }[] };
    assert.deepEqual(
      body.images.map((i) => i.filename),
      ['lim-1.jpg', 'lim-2.jpg', 'lim-3.jpg'],
    );
    assert.deepEqual(
      body.notRead.map((i) => [i.filename, i.code]),
      [
        ['lim-4.jpg', 'TOO_MANY_FILES'],
        ['lim-5.jpg', 'TOO_MANY_FILES'],
      ],
    );
    assert.match(body.notRead[0]!.error, /3/);
    assert.equal(await rowCount('lim-%'), 3);
  });

  it('the earlier route takes the key too', async () => {
    const key = randomUUID();
    const first = (await (await post([{ name: 'old-1.jpg', data: a }], key, '/upload')).json()) as UploadResponse;
    const again = (await (await post([{ name: 'old-1.jpg', data: a }], key, '/upload')).json()) as UploadResponse;
    assert.deepEqual(again, first);
    assert.equal(await rowCount('old-%'), 1);
  });
});
