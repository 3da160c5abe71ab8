/**
 * HEIC (made at test time, rotated like a phone's), TIFF and GIF through the
 * real backend and through "Resize locally": the same bytes both ways, in a
 * size mode and with maxBytes (the same quality chosen); the preview reads
 * them; local results keep their original's modification time unless told not to.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import { DEFAULT_RULES } from '@imgfleet/backend/imaging';
import { ApiClient } from '../../src/main/services/api-client.js';
import { resizeLocally } from '../../src/main/services/local-resizer.js';
import { createPreviewer } from '../../src/main/services/previewer.js';
import { Uploader } from '../../src/main/services/uploader.js';
import { heif, images } from '../support/backend-support.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { until } from '../support/until.js';

describe('HEIC, TIFF and GIF: the cluster and "Resize locally" alike', () => {
  let backend: TestBackend;
  let client: ApiClient;
  let work: string;
  let files: { name: string; path: string; size: [number, number] }[];

  before(async () => {
    work = await tempDir('inputs');
    backend = await startTestBackend();
    client = new ApiClient({ baseUrl: backend.url });
    const photo = await images.makeImage({ width: 1200, height: 900, seed: 8, grain: 6 });
    const made: [string, Buffer, [number, number]][] = [
      // Stored landscape, EXIF 6 and irot: a portrait photo, as a phone writes it.
      ['IMG_0007.HEIC', heif.withRotation(await heif.makeHeic(await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer()), 3), [450, 600]],
      ['scan.tiff', await sharp(photo).tiff({ compression: 'deflate' }).toBuffer(), [600, 450]],
      ['loop.gif', await sharp(photo).resize(400).gif().toBuffer(), [400, 300]],
    ];
    files = [];
    for (const [name, data, size] of made) {
      const file = path.join(work, 'in', name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, data);
      files.push({ name, path: file, size });
    }
  });
  after(async () => {
    await backend?.stop();
    await removeDir(work);
  });

  for (const [label, options] of [
    ['long edge 600', { ...DEFAULT_OUTPUT_OPTIONS, width: null, height: null, longEdge: 600 }],
    [
      'long edge 600, WebP, at most 12 KB',
      { ...DEFAULT_OUTPUT_OPTIONS, width: null, height: null, longEdge: 600, format: 'webp', quality: 80, maxBytes: 12_000 },
    ],
  ] as [string, OutputOptions][]) {
    it(`${label}: byte-identical between the cluster and this computer`, async () => {
      const uploader = new Uploader({ client: () => client, concurrency: 2 });
      const refs = files.map((f) => ({ key: f.name, path: f.path }));
      const summary = await uploader.upload(crypto.randomUUID(), refs, { outputOptions: options });
      const local = await resizeLocally(refs, { folder: path.join(work, `local-${label}`), options, rules: DEFAULT_RULES });
      for (const [i, file] of files.entries()) {
        const outcome = summary.outcomes.find((o) => o.key === file.name)!;
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.error);
        const id = outcome.result.id;
        const image = await until(
          async () => {
            const current = await client.image(id);
            if (current.status === 'failed') throw new Error(`${file.name} failed: ${current.error}`);
            return current.status === 'completed' ? current : undefined;
          },
          file.name,
          90_000,
        );
        assert.deepEqual([image.width, image.height], file.size, file.name);
        const mine = local.results[i]!;
        assert.ok(mine.ok, mine.ok ? '' : mine.error);
        const served = await client.processed(id);
        assert.ok(served.equals(await fs.readFile(mine.path)), `${file.name}: cluster bytes == local bytes`);
        if (options.maxBytes !== null) {
          assert.ok(served.length <= options.maxBytes, `${file.name}: ${served.length} ≤ ${options.maxBytes}`);
          assert.equal(mine.quality, image.outputQuality, `${file.name}: the same quality chosen`);
        }
      }
    });
  }

  it('previews them on this computer (HEIC decoded off the main thread), sizes as the cluster makes them', async () => {
    const previewer = createPreviewer();
    const options = { ...DEFAULT_OUTPUT_OPTIONS, width: null, height: null, longEdge: 600 };
    for (const file of files) {
      const preview = await previewer.preview(file.path, options);
      assert.ok(preview.ok, preview.ok ? '' : preview.error);
      assert.deepEqual([preview.target.width, preview.target.height], file.size, file.name);
      const thumb = await sharp(Buffer.from(preview.dataUrl.split(',')[1]!, 'base64')).metadata();
      assert.equal(thumb.format, 'jpeg');
      assert.equal(thumb.width > thumb.height, file.size[0] > file.size[1], `${file.name}: the thumbnail the right way up`);
    }
  });

  it("results keep their original's modification time, unless keepDates is off", async () => {
    const taken = new Date('2019-01-02T03:04:05Z');
    const source = files[1]!.path;
    await fs.utimes(source, taken, taken);
    const kept = await resizeLocally([{ key: 'a', path: source }], { folder: path.join(work, 'dates-kept'), rules: DEFAULT_RULES });
    const fresh = await resizeLocally([{ key: 'a', path: source }], { folder: path.join(work, 'dates-fresh'), rules: DEFAULT_RULES, keepDates: false });
    const [a, b] = [kept.results[0]!, fresh.results[0]!];
    assert.ok(a.ok && b.ok);
    assert.equal((await fs.stat(a.path)).mtime.getTime(), taken.getTime());
    assert.ok((await fs.stat(b.path)).mtime.getTime() > taken.getTime() + 86_400_000, 'written now');
  });
});
