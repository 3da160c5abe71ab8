import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_RULES, resizeImage } from '@imgfleet/backend/imaging';
import { resizeLocally } from '../../src/main/services/local-resizer.js';
import type { WriteOutcome } from '../../src/shared/models.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { removeDir, tempDir } from '../support/paths.js';

describe('local resizer', () => {
  let dir: string;
  let sources: string[];

  before(async () => {
    dir = await tempDir('local-resize');
    sources = await writePhotos(path.join(dir, 'in'), [
      { name: 'wide.jpg', width: 4000, height: 3000 },
      { name: 'tall.JPEG', width: 1600, height: 1200, orientation: 6 },
      { name: 'tiny.jpg', width: 300, height: 200 },
    ]);
    sources.push(await writeTruncatedPhoto(path.join(dir, 'in', 'broken.jpg')));
  });
  after(() => removeDir(dir));

  it("writes the shared resize function's exact bytes, named by the template", async () => {
    const out = path.join(dir, 'out');
    const seen: WriteOutcome[] = [];
    const summary = await resizeLocally(
      sources.map((p) => ({ key: p, path: p })),
      { folder: out, template: '{name}_{width}x{height}.jpg', onResult: (o) => seen.push(o) },
    );
    assert.equal(summary.written, 3);
    assert.equal(summary.failed, 1);
    assert.equal(seen.length, 4);
    assert.deepEqual((await fs.readdir(out)).sort(), ['tall_450x600.jpg', 'tiny_300x200.jpg', 'wide_800x600.jpg']);

    for (const [index, outcome] of summary.results.entries()) {
      const source = sources[index]!;
      if (path.basename(source) === 'broken.jpg') {
        assert.ok(!outcome.ok);
        assert.equal(outcome.code, 'CORRUPT_IMAGE');
        continue;
      }
      assert.ok(outcome.ok);
      const expected = await resizeImage(await fs.readFile(source), DEFAULT_RULES);
      const written = await fs.readFile(outcome.path);
      assert.ok(written.equals(expected.data), `${outcome.path} equals resizeImage's output`);
      const meta = await sharp(written).metadata();
      assert.deepEqual([meta.width, meta.height], [outcome.width, outcome.height]);
      assert.equal(meta.orientation, undefined, 'orientation applied, metadata stripped');
    }
  });

  it('never overwrites an earlier result', async () => {
    const out = path.join(dir, 'again');
    const file = [{ key: 'k', path: sources[2]! }];
    await resizeLocally(file, { folder: out, template: '{name}.jpg' });
    await resizeLocally(file, { folder: out, template: '{name}.jpg' });
    assert.deepEqual((await fs.readdir(out)).sort(), ['tiny (1).jpg', 'tiny.jpg']);
  });
});
