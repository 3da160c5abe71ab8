/**
 * Names of downloads (issue 18 item 7, issue 21's `{index}`): a long emoji
 * name, hostile characters, NFC/NFD twins, `{index}` in a single download
 * and in the ZIP, control characters in the naming template; and what a
 * single download offers besides (Range, HEAD).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import yauzl from 'yauzl';
import type { ImageSummary, UploadResponse } from '../../src/contract/api.js';
import { batchIndex, renderName } from '../../src/contract/naming-template.js';
import { getJson, startTestBackend, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

function form(files: { name: string; data: Buffer }[], options?: unknown): FormData {
  const f = new FormData();
  if (options !== undefined) f.append('options', JSON.stringify(options));
  for (const file of files) f.append('images', new Blob([file.data], { type: 'image/jpeg' }), file.name);
  return f;
}

function zipEntries(zip: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, decodeStrings: true }, (err, file) => {
      if (err || !file) {
        reject(err ?? new Error('no zip'));
        return;
      }
      const names: string[] = [];
      file.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        file.readEntry();
      });
      file.on('end', () => resolve(names));
      file.on('error', reject);
      file.readEntry();
    });
  });
}

/** The name a browser takes from Content-Disposition: filename* (RFC 8187) when there, else filename. */
function dispositionName(header: string | null): string {
  assert.ok(header, 'a Content-Disposition header');
  const ext = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (ext) return decodeURIComponent(ext[1]!);
  return /filename="([^"]*)"/.exec(header)?.[1] ?? '';
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('download names', () => {
  let t: TestBackend;
  let pool: pg.Pool;
  let photo: Buffer;
  before(async () => {
    t = await startTestBackend();
    pool = new pg.Pool({ connectionString: t.db.url });
    photo = await makeImage({ width: 640, height: 480, seed: 5 });
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  async function uploaded(files: { name: string; data: Buffer }[], options?: unknown): Promise<ImageSummary[]> {
    const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form(files, options) });
    assert.equal(res.status, 202, await res.clone().text());
    const { batchId } = (await res.json()) as UploadResponse;
    return waitFor(async () => {
      const { body } = await getJson<{ images: ImageSummary[] }>(`${t.url}/api/v1/images?batchId=${batchId}`);
      return body.images.every((i) => i.status === 'completed') ? body.images : null;
    });
  }

  const zipOf = async (batchId: string, query = '') =>
    zipEntries(Buffer.from(await (await fetch(`${t.url}/api/v1/batches/${batchId}/zip${query}`)).arrayBuffer()));

  it('a long emoji name is cut on a character boundary within 255 bytes, in the header and in the ZIP', async () => {
    const [image] = await uploaded([{ name: `${'😀'.repeat(150)}.jpg`, data: photo }]);
    const res = await fetch(`${t.url}/api/v1/images/${image!.id}/processed?download`);
    assert.equal(res.status, 200);
    const name = dispositionName(res.headers.get('content-disposition'));
    assert.ok(bytes(name) <= 255, `${bytes(name)} bytes`);
    assert.doesNotMatch(name, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, 'no half surrogate pair');
    assert.match(name, /^(😀)+_640x480\.jpg$/u, 'the template around the name is kept');
    const [entry] = await zipOf(image!.batchId);
    assert.equal(entry, name);
    for (const segment of entry.split('/')) assert.ok(bytes(segment) <= 255);
  });

  it('carries hostile characters in Content-Disposition exactly, in the header and in the ZIP', async () => {
    const [image] = await uploaded([{ name: `a"b;c%20d'(e)é漢字 \u200bz.jpg`, data: photo }], { template: '{name}.jpg' });
    const res = await fetch(`${t.url}/api/v1/images/${image!.id}/processed?download`);
    assert.equal(res.status, 200);
    const header = res.headers.get('content-disposition') ?? '';
    assert.match(header, /^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+$/);
    const name = dispositionName(header);
    // FormData sends `"` in a file name as %22 (the HTML standard's multipart encoding).
    assert.equal(name, `a%22b;c%20d'(e)é漢字 \u200bz.jpg`);
    assert.deepEqual(await zipOf(image!.batchId), [name]);
  });

  it('NFC and NFD spellings of one name collide in the ZIP (macOS would merge them)', async () => {
    const images = await uploaded(
      [
        { name: 'caf\u00e9.jpg', data: photo },
        { name: 'cafe\u0301.jpg', data: photo },
        { name: 'CAF\u00c9.jpg', data: photo },
      ],
      { template: '{name}.jpg' },
    );
    const names = await zipOf(images[0]!.batchId);
    assert.deepEqual(names, ['caf\u00e9.jpg', 'caf\u00e9 (1).jpg', 'CAF\u00c9 (2).jpg']);
  });

  it('{index} is the position in the batch: the same in a single download, the ZIP and a ZIP of some', async () => {
    const images = await uploaded(
      ['wood', 'lake', 'hill'].map((n) => ({ name: `${n}.jpg`, data: photo })),
      { template: '{name}-{index}.jpg' },
    );
    const lake = images[1]!;
    const single = await fetch(`${t.url}/api/v1/images/${lake.id}/processed?download`);
    assert.equal(dispositionName(single.headers.get('content-disposition')), 'lake-2.jpg');
    assert.deepEqual(await zipOf(lake.batchId), ['wood-1.jpg', 'lake-2.jpg', 'hill-3.jpg']);
    assert.deepEqual(await zipOf(lake.batchId, `?ids=${lake.id}`), ['lake-2.jpg']);
    // The apps number by the shared rule over the batch's ids, and so agree with the server.
    const ids = images.map((i) => i.id);
    assert.deepEqual(
      images.map((i) =>
        renderName('{name}-{index}.jpg', { name: i.filename.replace(/\.jpg$/, ''), ext: 'jpg', width: 1, height: 1, index: batchIndex(i.id, ids) }),
      ),
      ['wood-1.jpg', 'lake-2.jpg', 'hill-3.jpg'],
    );
    const page = await (await fetch(`${t.url}/status/${lake.id}`, { headers: { accept: 'text/html' } })).text();
    assert.match(page, /download="lake-2\.jpg"/);
  });

  it('refuses control characters in the naming template with 422 naming `template`, storing nothing', async () => {
    const count = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images')).rows[0]!.n;
    const before = await count();
    for (const template of ['a\u0000{name}', '{name}\n.jpg', '{name}\u001b', '{name}\ud800']) {
      const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form([{ name: 'x.jpg', data: photo }], { template }) });
      assert.equal(res.status, 422, JSON.stringify(template));
      const body = (await res.json()) as { code: string; problems: { field: string }[] };
      assert.equal(body.code, 'INVALID_OPTIONS');
      assert.deepEqual(
        body.problems.map((p) => p.field),
        ['template'],
      );
    }
    const query = await fetch(`${t.url}/api/v1/images?template=${encodeURIComponent('a\u0000{name}')}`, {
      method: 'POST',
      body: form([{ name: 'x.jpg', data: photo }]),
    });
    assert.equal(query.status, 422);
    assert.equal(await count(), before);
  });

  it('serves one byte range of a result (206), refuses an impossible one (416), and answers HEAD with the size', async () => {
    const [image] = await uploaded([{ name: 'range.jpg', data: photo }]);
    const url = `${t.url}/api/v1/images/${image!.id}/processed`;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(whole.length, image!.processedBytes);
    const part = await fetch(url, { headers: { range: 'bytes=100-1099' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-1099/${whole.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(100, 1100)));
    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 10)));
    const impossible = await fetch(url, { headers: { range: `bytes=${whole.length + 5}-` } });
    assert.equal(impossible.status, 416);
    assert.equal(impossible.headers.get('content-range'), `bytes */${whole.length}`);
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(whole.length));
    assert.equal(head.headers.get('accept-ranges'), 'bytes');
  });
});
