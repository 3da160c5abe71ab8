/**
 * maxBytes: the result is never larger than the target, its quality is on
 * the ladder and within one step of the best (the next rung up does not
 * fit), the search makes no more encodes than maxEncodePasses says, and a
 * target no quality reaches fails the image with both sizes.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, parseOutputOptions, type OutputOptions } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, ImageError, maxEncodePasses, QUALITY_STEP, qualityLadder, renderImage } from '../../src/imaging/index.js';
import { makeImage } from '../support/images.js';

const options = (o: Partial<OutputOptions>): OutputOptions => ({ ...DEFAULT_OUTPUT_OPTIONS, ...o });
const UNLIMITED = 1_000_000_000;

describe('maxBytes: the highest quality whose file fits', () => {
  let photo: Buffer;
  before(async () => {
    photo = await makeImage({ width: 1600, height: 1200, seed: 22, grain: 10 });
  });

  it('the ladder and the most encodes it can take', () => {
    assert.deepEqual(qualityLadder(85), [85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 5, 1]);
    assert.deepEqual(qualityLadder(12), [12, 7, 2, 1]);
    assert.deepEqual(qualityLadder(1), [1]);
    assert.equal(maxEncodePasses({ quality: 85, maxBytes: null }), 1);
    assert.equal(maxEncodePasses({ quality: 100, maxBytes: 50_000 }), 6);
    assert.equal(maxEncodePasses({ quality: 85, maxBytes: 50_000 }), 6);
    assert.equal(maxEncodePasses({ quality: 50, maxBytes: 50_000 }), 5);
    assert.equal(maxEncodePasses({ quality: 1, maxBytes: 50_000 }), 1);
  });

  for (const format of ['jpeg', 'webp'] as const) {
    it(`${format}: at most the target, within one step of the best, in at most maxEncodePasses encodes`, async () => {
      const ceiling = options({ format, quality: format === 'jpeg' ? 85 : 80 });
      const full = await renderImage(photo, ceiling, DEFAULT_RULES);
      // Targets that land low, in the middle, and just under the ceiling's size.
      for (const share of [0.3, 0.55, 0.95]) {
        const target = Math.round(full.data.length * share);
        const o = { ...ceiling, maxBytes: target };
        const out = await renderImage(photo, o, DEFAULT_RULES);
        const label = `${format} target ${target} (${share} of ${full.data.length})`;
        assert.ok(out.data.length <= target, `${label}: ${out.data.length} bytes`);
        assert.ok(qualityLadder(o.quality).includes(out.quality), `${label}: quality ${out.quality} on the ladder`);
        assert.ok(out.quality < o.quality, `${label}: had to go below the ceiling`);
        assert.ok(out.encodes <= maxEncodePasses(o), `${label}: ${out.encodes} encodes`);
        // One rung up does not fit: the next higher quality tried alone (maxBytes met at once) is larger than the target.
        const ladder = qualityLadder(o.quality);
        const up = ladder[ladder.indexOf(out.quality) - 1]!;
        assert.ok(up - out.quality <= QUALITY_STEP);
        const next = await renderImage(photo, { ...o, quality: up, maxBytes: UNLIMITED }, DEFAULT_RULES);
        assert.equal(next.encodes, 1);
        assert.ok(next.data.length > target, `${label}: quality ${up} gives ${next.data.length} bytes, over the target`);
        assert.equal((await sharp(out.data).metadata()).format, format);
      }
    });
  }

  it('avif: fits, with the quality reported', async () => {
    const small = await makeImage({ width: 480, height: 360, seed: 5, grain: 10 });
    const full = await renderImage(small, options({ format: 'avif', quality: 50, width: 320, height: 240 }), DEFAULT_RULES);
    const out = await renderImage(
      small,
      options({ format: 'avif', quality: 50, width: 320, height: 240, maxBytes: Math.round(full.data.length * 0.6) }),
      DEFAULT_RULES,
    );
    assert.ok(out.data.length <= Math.round(full.data.length * 0.6));
    assert.ok(out.quality < 50 && out.encodes <= maxEncodePasses({ quality: 50, maxBytes: 1 }));
  });

  it('a target the first try meets costs one encode, and gives the very bytes of a render without maxBytes', async () => {
    for (const format of ['jpeg', 'webp'] as const) {
      const out = await renderImage(photo, options({ format, quality: 70, maxBytes: UNLIMITED }), DEFAULT_RULES);
      assert.deepEqual([out.quality, out.encodes], [70, 1]);
      const plain = await renderImage(photo, options({ format, quality: 70 }), DEFAULT_RULES);
      assert.ok(out.data.equals(plain.data), `${format}: the pixels resized once, then encoded, are the same file`);
    }
  });

  it('keeps the mode’s size and the metadata policy', async () => {
    const parsed = parseOutputOptions({ longEdge: 500, maxBytes: 30_000, metadata: 'keep' });
    assert.ok(parsed.ok);
    const out = await renderImage(photo, parsed.options, DEFAULT_RULES);
    assert.deepEqual([out.width, out.height], [500, 375]);
    const meta = await sharp(out.data).metadata();
    assert.equal(meta.icc !== undefined, true, 'keep embeds the sRGB profile');
  });

  it('fails the image, naming both sizes, when even quality 1 is too large', async () => {
    await assert.rejects(renderImage(photo, options({ maxBytes: 2048 }), DEFAULT_RULES), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.code, 'TARGET_SIZE_UNREACHABLE');
      assert.match(err.message, /even at quality 1 the result is [\d.]+ KiB \(800x600 JPEG\), above the target of 2\.0 KiB/);
      return true;
    });
  });
});
