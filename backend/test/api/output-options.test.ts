/**
 * Output options per batch over HTTP (issue 10): validated by the one schema
 * (422 naming the field, nothing stored), stored with each image, echoed,
 * applied by the worker, served with the right type and name, and the
 * cluster's bytes equal to a local render with the same options.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import sharp from 'sharp';
import yauzl from 'yauzl';
import { DEFAULT_OUTPUT_OPTIONS, parseOutputOptions, type OutputOptions } from '../../src/contract/output-options.js';
import type { ImageSummary, ServerConfig, UploadResponse } from '../../src/contract/api.js';
import { DEFAULT_RULES, renderImage } from '../../src/imaging/index.js';
import { getJson, startTestBackend, waitFor, type TestBackend } from '../support/backend.js';
import { makeHeic, withRotation } from '../support/heif.js';
import { makeImage } from '../support/images.js';

function form(files: { name: string; data: Buffer }[], options?: unknown): FormData {
  const f = new FormData();
  if (options !== undefined) f.append('options', typeof options === 'string' ? options : JSON.stringify(options));
  for (const file of files) f.append('images', new Blob([file.data], { type: 'image/jpeg' }), file.name);
  return f;
}

function zipEntries(zip: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
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
      file.readEntry();
    });
  });
}

describe('output options over HTTP', () => {
  let t: TestBackend;
  let pool: pg.Pool;
  let landscape: Buffer;
  let portrait: Buffer;
  before(async () => {
    t = await startTestBackend({ MAX_BOX_WIDTH: '4000', MAX_BOX_HEIGHT: '4000' });
    pool = new pg.Pool({ connectionString: t.db.url });
    landscape = await makeImage({ width: 1600, height: 1200, seed: 31, grain: 6 });
    portrait = await makeImage({ width: 900, height: 1400, seed: 32, grain: 6 });
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  const rows = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images')).rows[0]!.n;

  async function settled(batchId: string): Promise<ImageSummary[]> {
    return waitFor(async () => {
      const { body } = await getJson<{ images: ImageSummary[] }>(`${t.url}/api/v1/images?batchId=${batchId}`);
      return body.images.length > 0 && body.images.every((i) => i.status === 'completed' || i.status === 'failed') ? body.images : null;
    });
  }

  it('serves its defaults and limits at /api/v1/config', async () => {
    const { status, body } = await getJson<ServerConfig>(`${t.url}/api/v1/config`);
    assert.equal(status, 200);
    assert.deepEqual(body.defaults, DEFAULT_OUTPUT_OPTIONS);
    assert.equal(body.limits.maxWidth, 4000);
    assert.deepEqual([...body.limits.formats].sort(), ['avif', 'jpeg', 'png', 'webp']);
    assert.equal(body.limits.maxFilesPerUpload, 1000);
    assert.ok(body.version.length > 0);
  });

  it('refuses bad options with 422 naming each field, before storing anything', async () => {
    const before = await rows();
    const cases: [string, unknown, string][] = [
      ['query', '?width=0', 'width'],
      ['query', '?format=gif', 'format'],
      ['query', '?width=5000', 'width'],
      ['field', { quality: 101 }, 'quality'],
      ['field', { fit: 'stretch' }, 'fit'],
      ['field', { colour: 'red' }, 'colour'],
      ['field', '{not json', 'options'],
      ['field', { keepGps: true }, 'keepGps'],
      ['field', { scale: 50, longEdge: 800 }, 'scale'],
      ['query', '?longEdge=800&width=300', 'longEdge'],
      ['field', { maxBytes: 50000, format: 'png' }, 'maxBytes'],
      ['query', '?scale=150', 'scale'],
      ['field', { fit: 'cover', width: 300 }, 'fit'],
    ];
    for (const [where, value, field] of cases) {
      const url = `${t.url}/api/v1/images${where === 'query' ? (value as string) : ''}`;
      const res = await fetch(url, { method: 'POST', body: form([{ name: 'x.jpg', data: landscape }], where === 'field' ? value : undefined) });
      assert.equal(res.status, 422, `${where} ${JSON.stringify(value)}`);
      const body = (await res.json()) as { code: string; problems: { field: string }[] };
      assert.equal(body.code, 'INVALID_OPTIONS');
      assert.ok(
        body.problems.some((p) => p.field === field),
        `${JSON.stringify(body.problems)} names ${field}`,
      );
    }
    assert.equal(await rows(), before, 'nothing stored');
  });

  it('refuses an options field that comes after the files', async () => {
    const f = new FormData();
    f.append('images', new Blob([landscape], { type: 'image/jpeg' }), 'late.jpg');
    f.append('options', JSON.stringify({ format: 'webp' }));
    const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: f });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { problems: { field: string }[] }).problems[0]!.field, 'options');
  });

  it('stores, echoes and applies the options; serves the result with its type and name', async () => {
    const options = { format: 'webp', width: 640, height: 640, quality: 70, template: '{name}-{w}x{h}' };
    const res = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: form(
        [
          { name: 'land.jpg', data: landscape },
          { name: 'port.jpg', data: portrait },
        ],
        options,
      ),
    });
    assert.equal(res.status, 202);
    const body = (await res.json()) as UploadResponse;
    assert.equal(body.options!.format, 'webp');
    const images = await settled(body.batchId);
    for (const image of images) {
      assert.equal(image.status, 'completed', image.error ?? '');
      assert.equal(image.options!.format, 'webp');
      assert.equal(image.options!.quality, 70);
    }
    const land = images.find((i) => i.filename === 'land.jpg')!;
    assert.deepEqual([land.width, land.height], [640, 480]);
    const processed = await fetch(`${t.url}/api/v1/images/${land.id}/processed?download`);
    assert.equal(processed.headers.get('content-type'), 'image/webp');
    assert.match(processed.headers.get('content-disposition') ?? '', /land-640x480\.webp/);
    const meta = await sharp(Buffer.from(await processed.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 640, 480]);
    const legacy = await fetch(`${t.url}/download/${land.id}`);
    assert.equal(legacy.headers.get('content-type'), 'image/webp');
    assert.match(legacy.headers.get('content-disposition') ?? '', new RegExp(`processed_${land.id}\\.webp`));
  });

  it('cover crops to the exact box', async () => {
    const res = await fetch(`${t.url}/api/v1/images?fit=cover&width=500&height=500`, { method: 'POST', body: form([{ name: 'sq.jpg', data: portrait }]) });
    const images = await settled(((await res.json()) as UploadResponse).batchId);
    assert.deepEqual([images[0]!.width, images[0]!.height], [500, 500]);
  });

  it('gives the same bytes as a local render with the same options, for a matrix of option sets', async () => {
    const sets: Partial<OutputOptions>[] = [
      {},
      { format: 'webp', quality: 60 },
      { format: 'avif', width: 400, height: 300 },
      { format: 'png', width: 300, height: 300, fit: 'cover' },
      { format: 'jpeg', progressive: true, mozjpeg: true, metadata: 'keep' },
      { fit: 'cover', position: 'attention', width: 320, height: 240 },
      { enlarge: true, width: 2000, height: 2000 },
    ];
    for (const set of sets) {
      const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form([{ name: 'm.jpg', data: landscape }], set) });
      assert.equal(res.status, 202, JSON.stringify(set));
      const [image] = await settled(((await res.json()) as UploadResponse).batchId);
      assert.equal(image!.status, 'completed', `${JSON.stringify(set)}: ${image!.error}`);
      const server = Buffer.from(await (await fetch(`${t.url}/api/v1/images/${image!.id}/processed`)).arrayBuffer());
      const parsed = parseOutputOptions(set);
      assert.ok(parsed.ok);
      const local = await renderImage(landscape, parsed.options, DEFAULT_RULES);
      assert.ok(server.equals(local.data), `${JSON.stringify(set)}: server and local bytes are identical`);
    }
  });

  it('sizes by one side, long edge and percent; a width alone is not a box', async () => {
    const cases: [string, string, [number, number], [number, number]][] = [
      ['?width=1000', 'width alone', [1000, 750], [900, 1400]],
      ['?height=300', 'height alone', [400, 300], [193, 300]],
      ['?longEdge=640', 'long edge', [640, 480], [411, 640]],
      ['?scale=25', 'percent', [400, 300], [225, 350]],
    ];
    for (const [query, name, land, port] of cases) {
      const res = await fetch(`${t.url}/api/v1/images${query}`, {
        method: 'POST',
        body: form([
          { name: 'land.jpg', data: landscape },
          { name: 'port.jpg', data: portrait },
        ]),
      });
      assert.equal(res.status, 202, name);
      const images = await settled(((await res.json()) as UploadResponse).batchId);
      const size = (file: string) => {
        const image = images.find((i) => i.filename === file)!;
        return [image.width, image.height];
      };
      assert.deepEqual(size('land.jpg'), land, `${name}, landscape`);
      assert.deepEqual(size('port.jpg'), port, `${name}, portrait (width alone: never enlarged)`);
    }
  });

  it('maxBytes: the result fits, and the quality chosen is stored and echoed', async () => {
    const plainRes = await fetch(`${t.url}/api/v1/images?longEdge=800`, { method: 'POST', body: form([{ name: 'm.jpg', data: landscape }]) });
    const [plain] = await settled(((await plainRes.json()) as UploadResponse).batchId);
    assert.equal(plain!.outputQuality, 85, "without maxBytes: the options' quality");
    const target = Math.round(plain!.processedBytes! * 0.5);
    const res = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: form([{ name: 'm.jpg', data: landscape }], { longEdge: 800, maxBytes: target }),
    });
    const [image] = await settled(((await res.json()) as UploadResponse).batchId);
    assert.equal(image!.status, 'completed', image!.error ?? '');
    assert.equal(image!.options!.maxBytes, target);
    assert.ok(image!.processedBytes! <= target, `${image!.processedBytes} ≤ ${target}`);
    assert.ok(image!.outputQuality !== null && image!.outputQuality < 85, `quality chosen: ${image!.outputQuality}`);
    const server = Buffer.from(await (await fetch(`${t.url}/api/v1/images/${image!.id}/processed`)).arrayBuffer());
    const local = await renderImage(landscape, image!.options!, DEFAULT_RULES);
    assert.ok(server.equals(local.data), 'the same search gives the same file locally');
    assert.equal(local.quality, image!.outputQuality);

    const tooSmall = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form([{ name: 'tiny.jpg', data: landscape }], { maxBytes: 1024 }) });
    const [failed] = await settled(((await tooSmall.json()) as UploadResponse).batchId);
    assert.equal(failed!.status, 'failed');
    assert.equal(failed!.errorCode, 'TARGET_SIZE_UNREACHABLE');
    assert.match(failed!.error ?? '', /even at quality 1 the result is .* above the target of 1\.0 KiB/);
  });

  it("takes HEIC (a phone's, rotated), TIFF and GIF: completed, byte-identical to a local render", async () => {
    const phoneJpeg = await sharp(landscape).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer();
    const files = [
      { name: 'IMG_0001.HEIC', data: withRotation(await makeHeic(phoneJpeg), 3), type: 'image/heic', size: [450, 600] },
      { name: 'scan.tif', data: await sharp(portrait).tiff({ compression: 'lzw' }).toBuffer(), type: 'image/tiff', size: [386, 600] },
      { name: 'anim.gif', data: await sharp(portrait).resize(300).gif().toBuffer(), type: 'image/gif', size: [300, 467] },
    ];
    const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form(files) });
    assert.equal(res.status, 202);
    const images = await settled(((await res.json()) as UploadResponse).batchId);
    for (const file of files) {
      const image = images.find((i) => i.filename === file.name)!;
      assert.equal(image.status, 'completed', `${file.name}: ${image.error}`);
      assert.equal(image.contentType, file.type);
      assert.deepEqual([image.width, image.height], file.size, file.name);
      const server = Buffer.from(await (await fetch(`${t.url}/api/v1/images/${image.id}/processed`)).arrayBuffer());
      const local = await renderImage(file.data, image.options!, DEFAULT_RULES);
      assert.ok(server.equals(local.data), `${file.name}: server and local bytes are identical`);
    }
  });

  it('names ZIP entries with the template, keeps the folders, and suffixes collisions', async () => {
    const options = { template: '{name}.jpg', keepFolders: true };
    const files = [
      { name: 'trip/day 1/IMG_1.jpg', data: landscape },
      { name: 'trip/day 2/IMG_1.jpg', data: portrait },
      { name: 'trip/day 1/IMG_1.jpeg', data: portrait },
      { name: '../../etc/passwd.jpg', data: landscape },
    ];
    const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form(files, options) });
    const body = (await res.json()) as UploadResponse;
    assert.deepEqual(
      body.images.map((i) => i.filename),
      ['IMG_1.jpg', 'IMG_1.jpg', 'IMG_1.jpeg', 'passwd.jpg'],
    );
    await settled(body.batchId);
    const zip = Buffer.from(await (await fetch(`${t.url}/api/v1/batches/${body.batchId}/zip`)).arrayBuffer());
    assert.deepEqual(await zipEntries(zip), ['trip/day 1/IMG_1.jpg', 'trip/day 2/IMG_1.jpg', 'trip/day 1/IMG_1 (1).jpg', 'etc/passwd.jpg']);
  });

  it('the earlier API is unchanged: no options, 800x600 inside, JPEG', async () => {
    const res = await fetch(`${t.url}/upload`, { method: 'POST', body: form([{ name: 'old.jpg', data: landscape }]) });
    assert.equal(res.status, 202);
    const body = (await res.json()) as UploadResponse;
    const [image] = await settled(body.batchId);
    assert.deepEqual([image!.width, image!.height], [800, 600]);
    const download = await fetch(`${t.url}/download/${image!.id}`);
    assert.equal(download.headers.get('content-type'), 'image/jpeg');
    assert.match(download.headers.get('content-disposition') ?? '', new RegExp(`processed_${image!.id}\\.jpg`));
  });
});
