/**
 * The preview's "original → target" is computed without decoding
 * (targetSize); these tests hold it and sharp's real output together over a
 * matrix of sizes (chosen to hit every JPEG shrink-on-load factor and
 * libvips' rounding), input formats, fits, enlarge, boxes and orientations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, fitInside, readHeader, renderImage, targetSize } from '../../src/imaging/index.js';

// Small boxes give the large shrink factors (JPEG loads at 1/8) from small, quick inputs.
const SIZES = [
  [1601, 1199],
  [1199, 1601],
  [801, 601],
  [799, 1200],
  [1000, 751],
  [1366, 768],
  [2000, 17],
  [17, 2000],
  [333, 999],
  [600, 400],
  [7, 7],
  [1999, 1001],
  [962, 722],
  [1283, 967],
] as const;
const BOXES = [
  [800, 600],
  [120, 90],
] as const;
const VARIANTS: Pick<OutputOptions, 'fit' | 'enlarge'>[] = [
  { fit: 'inside', enlarge: false },
  { fit: 'inside', enlarge: true },
  { fit: 'cover', enlarge: false },
  { fit: 'cover', enlarge: true },
];

/** The modes other than a box: one side, long edge and percent, with and without enlarge. */
const MODES: Pick<OutputOptions, 'width' | 'height' | 'longEdge' | 'scale' | 'enlarge'>[] = [
  { width: 120, height: null, longEdge: null, scale: null, enlarge: false },
  { width: 800, height: null, longEdge: null, scale: null, enlarge: true },
  { width: null, height: 90, longEdge: null, scale: null, enlarge: false },
  { width: null, height: 1000, longEdge: null, scale: null, enlarge: true },
  { width: null, height: null, longEdge: 120, scale: null, enlarge: false },
  { width: null, height: null, longEdge: 900, scale: null, enlarge: false },
  { width: null, height: null, longEdge: null, scale: 10, enlarge: false },
  { width: null, height: null, longEdge: null, scale: 33.3, enlarge: false },
  { width: null, height: null, longEdge: null, scale: 150, enlarge: true },
];

async function input(width: number, height: number, format: 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif', orientation?: number): Promise<Buffer> {
  let image = sharp({ create: { width, height, channels: 3, background: '#708090' } });
  if (orientation) image = image.withMetadata({ orientation });
  if (format === 'png') return image.png({ compressionLevel: 1 }).toBuffer();
  if (format === 'webp') return image.webp({ quality: 50, effort: 0 }).toBuffer();
  if (format === 'tiff') return image.tiff().toBuffer();
  if (format === 'gif') return image.gif().toBuffer();
  return image.jpeg({ quality: 70 }).toBuffer();
}

/** Results above 8 MP are refused (as the server's MAX_PIXELS refuses them): quick, and the refusal is checked too. */
const MODE_RULES = { ...DEFAULT_RULES, maxPixels: 8_000_000 };

async function compareModes(bytes: Buffer, label: string, failures: string[]): Promise<number> {
  let checked = 0;
  const stored = await sharp(bytes).metadata();
  for (const mode of MODES) {
    const options: OutputOptions = { ...DEFAULT_OUTPUT_OPTIONS, ...mode };
    const expected = targetSize({ width: stored.width, height: stored.height, format: stored.format, orientation: stored.orientation }, options);
    if (expected.width * expected.height > MODE_RULES.maxPixels) {
      // A side with enlarge has no box to bound the other: the header refuses what would be too large.
      await assert.rejects(readHeader(bytes, MODE_RULES, options), { code: 'TOO_MANY_PIXELS', message: /^the result would be / });
      checked++;
      continue;
    }
    const header = await readHeader(bytes, MODE_RULES, options);
    const out = await renderImage(bytes, options, MODE_RULES);
    checked++;
    const got = `${out.width}x${out.height}`;
    const predicted = `${header.target.width}x${header.target.height}`;
    if (got !== predicted) failures.push(`${label} ${JSON.stringify(mode)}: sharp ${got}, predicted ${predicted}`);
  }
  return checked;
}

async function compare(bytes: Buffer, label: string, failures: string[]): Promise<number> {
  let checked = 0;
  for (const [width, height] of BOXES) {
    for (const variant of VARIANTS) {
      const options: OutputOptions = { ...DEFAULT_OUTPUT_OPTIONS, width, height, ...variant };
      const header = await readHeader(bytes, DEFAULT_RULES, options);
      const out = await renderImage(bytes, options, DEFAULT_RULES);
      checked++;
      const got = `${out.width}x${out.height}`;
      const predicted = `${header.target.width}x${header.target.height}`;
      if (got !== predicted) failures.push(`${label} into ${width}x${height} ${variant.fit} enlarge=${variant.enlarge}: sharp ${got}, predicted ${predicted}`);
    }
  }
  return checked;
}

describe('targetSize: the size computed without decoding is exactly sharp’s', () => {
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    it(`${format} input, every fit, enlarge and box`, async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const [w, h] of SIZES) checked += await compare(await input(w, h, format), `${format} ${w}x${h}`, failures);
      assert.deepEqual(failures, [], `${failures.length} of ${checked} differ`);
      assert.equal(checked, SIZES.length * BOXES.length * VARIANTS.length);
    });
  }

  for (const format of ['jpeg', 'png', 'webp', 'tiff', 'gif'] as const) {
    it(`${format} input, every mode (one side, long edge, percent), with and without enlarge`, async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const [w, h] of SIZES) checked += await compareModes(await input(w, h, format), `${format} ${w}x${h}`, failures);
      assert.deepEqual(failures, [], `${failures.length} of ${checked} differ`);
      assert.equal(checked, SIZES.length * MODES.length);
    });
  }

  it('every mode on EXIF-rotated JPEGs (orientation applied first)', async () => {
    const failures: string[] = [];
    for (const orientation of [3, 6, 8]) {
      for (const [w, h] of [
        [1601, 1199],
        [2000, 17],
        [1000, 751],
      ] as const) {
        await compareModes(await input(w, h, 'jpeg', orientation), `jpeg ${w}x${h} orientation ${orientation}`, failures);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('EXIF orientations 5–8 swap the axes before fitting', async () => {
    const failures: string[] = [];
    for (const orientation of [3, 6, 8]) {
      for (const [w, h] of [
        [1601, 1199],
        [2000, 17],
      ] as const) {
        await compare(await input(w, h, 'jpeg', orientation), `jpeg ${w}x${h} orientation ${orientation}`, failures);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('each mode’s dimensions for landscape, portrait and EXIF-rotated input (the issue’s figures)', async () => {
    const landscape = await input(4000, 3000, 'jpeg');
    const portrait = await input(3000, 4000, 'jpeg');
    // Stored landscape, EXIF 6: a portrait photo.
    const rotated = await input(4000, 3000, 'jpeg', 6);
    const modes: [Partial<OutputOptions>, string, string][] = [
      [{ width: 800, height: 600 }, '800x600', '450x600'],
      [{ width: 1000, height: null }, '1000x750', '1000x1333'],
      [{ width: null, height: 300 }, '400x300', '225x300'],
      [{ width: null, height: null, longEdge: 1000 }, '1000x750', '750x1000'],
      [{ width: null, height: null, scale: 25 }, '1000x750', '750x1000'],
      [{ width: null, height: null, longEdge: 5000 }, '4000x3000', '3000x4000'],
      [{ width: null, height: null, longEdge: 5000, enlarge: true }, '5000x3750', '3750x5000'],
    ];
    for (const [mode, wide, tall] of modes) {
      const options: OutputOptions = { ...DEFAULT_OUTPUT_OPTIONS, ...mode };
      for (const [name, bytes, expected] of [
        ['landscape', landscape, wide],
        ['portrait', portrait, tall],
        ['EXIF-rotated', rotated, tall],
      ] as const) {
        const out = await renderImage(bytes, options, DEFAULT_RULES);
        const header = await readHeader(bytes, DEFAULT_RULES, options);
        assert.equal(`${out.width}x${out.height}`, expected, `${name} ${JSON.stringify(mode)}`);
        assert.equal(`${header.target.width}x${header.target.height}`, expected, `${name} ${JSON.stringify(mode)} predicted`);
      }
    }
  });

  it('agrees with the earlier fitInside for the earlier rules (inside, never enlarged)', () => {
    for (const [width, height] of SIZES) {
      for (const [bw, bh] of BOXES) {
        const box = { width: bw, height: bh, fit: 'inside' as const, enlarge: false };
        assert.deepEqual(
          targetSize({ width, height, format: 'png' }, box),
          fitInside({ width, height }, { maxWidth: bw, maxHeight: bh }),
          `${width}x${height} into ${bw}x${bh}`,
        );
      }
    }
  });

  it('cover gives the exact box whenever the image covers it, and never enlarges otherwise', () => {
    const box = { width: 800, height: 600, fit: 'cover' as const, enlarge: false };
    assert.deepEqual(targetSize({ width: 4000, height: 1000 }, box), { width: 800, height: 600 });
    assert.deepEqual(targetSize({ width: 600, height: 400 }, box), { width: 600, height: 400 });
    assert.deepEqual(targetSize({ width: 1000, height: 400 }, box), { width: 800, height: 400 });
    assert.deepEqual(targetSize({ width: 600, height: 400 }, { ...box, enlarge: true }), { width: 800, height: 600 });
  });
});
