/**
 * The batch's options through the real backend (real Postgres, real
 * worker threads): the upload sends them (the multipart `options` field
 * first, a folder drop's relative path as the file name), the server's
 * config is read, the cluster's result bytes equal "Resize locally"'s for
 * the same options, the download is named and placed by the template and
 * the folders, and bad options are refused with the field named before
 * anything is stored.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import { DEFAULT_RULES } from '@imgfleet/backend/imaging';
import { ApiClient } from '../../src/main/services/api-client.js';
import { downloadImages } from '../../src/main/services/downloader.js';
import { resizeLocally } from '../../src/main/services/local-resizer.js';
import { Uploader } from '../../src/main/services/uploader.js';
import { newIdempotencyKey } from '../../src/shared/api-policy/index.js';
import { parseServerConfig } from '../../src/shared/server-config.js';
import { writePhotos } from '../support/fixtures.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { until } from '../support/until.js';

const OPTION_SETS: OutputOptions[] = [
  { ...DEFAULT_OUTPUT_OPTIONS, format: 'webp', quality: 60, fit: 'cover', width: 640, height: 480, template: '{name}_{w}x{h}' },
  { ...DEFAULT_OUTPUT_OPTIONS, format: 'avif', quality: 45, width: 1280, height: 960, metadata: 'keep', template: '{name}-{format}' },
  { ...DEFAULT_OUTPUT_OPTIONS, format: 'jpeg', quality: 75, mozjpeg: true, progressive: true, metadata: 'keep', keepGps: true, template: '{name}.jpg' },
  { ...DEFAULT_OUTPUT_OPTIONS, format: 'png', quality: 100, width: 300, height: 300, fit: 'cover', position: 'attention', template: '{name}_{index}' },
];

describe('output options end to end with the real backend', () => {
  let backend: TestBackend;
  let client: ApiClient;
  let work: string;
  let photo: string;

  before(async () => {
    work = await tempDir('options-e2e');
    backend = await startTestBackend();
    client = new ApiClient({ baseUrl: backend.url });
    photo = (await writePhotos(path.join(work, 'in', 'trip', 'day 1'), [{ name: 'IMG_1.JPG', width: 2400, height: 1800, orientation: 6, seed: 5 }]))[0]!;
  });
  after(async () => {
    await backend?.stop();
    await removeDir(work);
  });

  it("reads the server's config", async () => {
    const config = parseServerConfig(await client.config());
    assert.ok(config, 'GET /api/v1/config answers a config');
    assert.equal(config.source, 'server');
    assert.deepEqual(config.defaults, DEFAULT_OUTPUT_OPTIONS);
  });

  it('the cluster\'s bytes equal "Resize locally"\'s for each option set; downloads keep the folders', async () => {
    for (const [i, options] of OPTION_SETS.entries()) {
      const batchId = crypto.randomUUID();
      const uploader = new Uploader({ client: () => client, concurrency: 1 });
      const file = { key: `k${i}`, path: photo, relativePath: 'trip/day 1/IMG_1.JPG' };
      const summary = await uploader.upload(batchId, [file], { outputOptions: options });
      const outcome = summary.outcomes[0]!;
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error);
      const id = outcome.result.id;
      const image = await until(async () => {
        const current = await client.image(id);
        if (current.status === 'failed') throw new Error(`image ${id} failed: ${current.error}`);
        return current.status === 'completed' ? current : undefined;
      }, `image ${id}`);
      assert.deepEqual((image as { options?: unknown }).options, options, 'the image echoes its options');
      const served = await client.processed(id);

      const local = await resizeLocally([file], { folder: path.join(work, `local-${i}`), options, rules: DEFAULT_RULES });
      const localOutcome = local.results[0]!;
      assert.ok(localOutcome.ok);
      const localBytes = await fs.readFile(localOutcome.path);
      assert.ok(served.equals(localBytes), `${options.format}/${options.fit}/${options.metadata}: server bytes == local bytes`);
      assert.equal(image.processedBytes, localBytes.length);

      const folder = path.join(work, `download-${i}`);
      // The relative path sent as the multipart file name comes back as the image's source path.
      const sourcePath = (image as { sourcePath?: string | null }).sourcePath;
      assert.equal(sourcePath, 'trip/day 1/IMG_1.JPG');
      const downloaded = await downloadImages(client, [{ key: file.key, id, name: sourcePath ?? image.filename, index: 1 }], { folder, options });
      const d = downloaded.results[0]!;
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.equal(
        path.relative(folder, d.path).split(path.sep).join('/'),
        path
          .relative(path.join(work, `local-${i}`), localOutcome.path)
          .split(path.sep)
          .join('/'),
      );
      assert.ok(d.path.includes(path.join('trip', 'day 1')), d.path);
    }
  });

  it('bad options are refused naming the field, and nothing is stored', async () => {
    const batchId = crypto.randomUUID();
    const uploader = new Uploader({ client: () => client, concurrency: 1, retries: 0 });
    const bad = { ...DEFAULT_OUTPUT_OPTIONS, quality: 0 };
    const summary = await uploader.upload(batchId, [{ key: 'bad', path: photo, idempotencyKey: newIdempotencyKey() }], { outputOptions: bad });
    const outcome = summary.outcomes[0]!;
    assert.ok(!outcome.ok);
    assert.equal(outcome.code, 'INVALID_OPTIONS');
    assert.match(outcome.error, /quality/);
    assert.deepEqual(await client.listBatch(batchId), []);
  });
});
