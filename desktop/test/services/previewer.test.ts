import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Metadata } from 'sharp';
import { createPreviewer } from '../../src/main/services/previewer.js';
import { images } from '../support/backend-support.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { removeDir, tempDir } from '../support/paths.js';

async function decodeDataUrl(dataUrl: string): Promise<Metadata> {
  assert.match(dataUrl, /^data:image\/jpeg;base64,/);
  return sharp(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')).metadata();
}

describe('previewer', () => {
  let dir: string;
  let landscape: string;
  let rotated: string;
  let small: string;

  before(async () => {
    dir = await tempDir('preview');
    [landscape, rotated, small] = (await writePhotos(dir, [
      { name: 'landscape.jpg', width: 4000, height: 3000 },
      // Stored 1600x1200 with EXIF orientation 6: shown (and resized) as 1200x1600.
      { name: 'rotated.jpg', width: 1600, height: 1200, orientation: 6 },
      { name: 'small.jpg', width: 600, height: 400 },
    ])) as [string, string, string];
  });
  after(() => removeDir(dir));

  it('makes a small JPEG and promises the backend output size', async () => {
    const previewer = createPreviewer({ box: 320 });
    const result = await previewer.preview(landscape);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.original, { width: 4000, height: 3000 });
    assert.deepEqual(result.target, { width: 800, height: 600 });
    assert.equal(result.format, 'jpeg');
    assert.equal(result.bytes, (await fs.stat(landscape)).size);
    const thumb = await decodeDataUrl(result.dataUrl);
    assert.equal(thumb.format, 'jpeg');
    assert.deepEqual([thumb.width, thumb.height], [320, 240]);
  });

  it('applies the EXIF orientation and never enlarges', async () => {
    const previewer = createPreviewer();
    const r = await previewer.preview(rotated);
    assert.ok(r.ok);
    assert.deepEqual(r.original, { width: 1200, height: 1600 });
    assert.deepEqual(r.target, { width: 450, height: 600 });
    const thumb = await decodeDataUrl(r.dataUrl);
    assert.deepEqual([thumb.width, thumb.height], [240, 320]);

    const s = await previewer.preview(small);
    assert.ok(s.ok);
    assert.deepEqual(s.target, { width: 600, height: 400 }, '600x400 stays 600x400');
  });

  it('reports bad files with the same codes the backend uses', async () => {
    const previewer = createPreviewer();
    const truncated = await writeTruncatedPhoto(path.join(dir, 'truncated.jpg'));
    const text = path.join(dir, 'text.jpg');
    await fs.writeFile(text, 'this is not an image');
    const empty = path.join(dir, 'empty.jpg');
    await fs.writeFile(empty, '');

    const results = await Promise.all([truncated, text, empty, path.join(dir, 'missing.jpg')].map((p) => previewer.preview(p)));
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.code)),
      ['CORRUPT_IMAGE', 'UNSUPPORTED_TYPE', 'EMPTY_FILE', 'IO_ERROR'],
    );
    const first = results[0]!;
    assert.ok(!first.ok && /truncated/i.test(first.error), !first.ok ? first.error : '');
  });

  it('refuses a file above the size limit without reading it', async () => {
    const previewer = createPreviewer({ rules: { maxWidth: 800, maxHeight: 600, quality: 85, maxPixels: 100e6, maxBytes: 1000 } });
    const r = await previewer.preview(landscape);
    assert.ok(!r.ok);
    assert.equal(r.code, 'FILE_TOO_LARGE');
  });

  it('keeps at most `concurrency` previews in flight', async () => {
    const files = await writePhotos(
      path.join(dir, 'many'),
      Array.from({ length: 8 }, (_, i) => ({ name: `p${i}.jpg`, width: 2000, height: 1500, seed: i + 1 })),
    );
    const previewer = createPreviewer({ concurrency: 2 });
    let maxActive = 0;
    let running = true;
    const sample = (async () => {
      while (running) {
        maxActive = Math.max(maxActive, previewer.limiter.active);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const results = await Promise.all(files.map((f) => previewer.preview(f)));
    running = false;
    await sample;
    assert.ok(results.every((r) => r.ok));
    assert.equal(maxActive, 2);
  });
});

describe('previews of transparent images', () => {
  it("keeps the transparency (a PNG picture) so the card can show the result's background; an opaque photo stays a JPEG", async () => {
    const previewer = createPreviewer({ concurrency: 1 });
    const dir = await tempDir('previewer-alpha');
    try {
      const clear = path.join(dir, 'clear.png');
      await fs.writeFile(clear, await images.makeImage({ width: 600, height: 400, format: 'png', alpha: true }));
      const opaque = path.join(dir, 'opaque.png');
      await fs.writeFile(opaque, await images.makeImage({ width: 600, height: 400, format: 'png' }));
      const transparent = await previewer.preview(clear);
      assert.ok(transparent.ok);
      assert.match(transparent.dataUrl, /^data:image\/png;base64,/);
      const picture = sharp(Buffer.from(transparent.dataUrl.split(',')[1]!, 'base64'));
      const { data, info } = await picture.raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 4);
      assert.equal(data[(Math.floor(info.height / 2) * info.width + Math.floor(info.width / 4)) * 4 + 3], 0, 'the left half stays transparent');
      const flat = await previewer.preview(opaque);
      assert.ok(flat.ok);
      assert.match(flat.dataUrl, /^data:image\/jpeg;base64,/);
    } finally {
      await removeDir(dir);
    }
  });
});
