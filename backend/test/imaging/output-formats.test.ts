/**
 * The output options applied: every format decodes with the promised size
 * for every kind of input, cover crops to the exact box, alpha is flattened
 * for JPEG only, and metadata is kept or stripped as asked.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, OUTPUT_FORMATS, outputOptionsSchema, type OutputOptions } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, readHeader, renderImage, resizeImage } from '../../src/imaging/index.js';
import { makeImage } from '../support/images.js';

const options = (o: Partial<OutputOptions> = {}): OutputOptions => outputOptionsSchema.parse(o);

interface Case {
  name: string;
  make: () => Promise<Buffer>;
  /** Size inside 800x600. */
  expected: [number, number];
  alpha?: boolean;
}

const CASES: Case[] = [
  { name: 'landscape', make: () => makeImage({ width: 1600, height: 1200 }), expected: [800, 600] },
  { name: 'portrait', make: () => makeImage({ width: 1200, height: 1600 }), expected: [450, 600] },
  { name: 'EXIF-rotated (orientation 6)', make: () => makeImage({ width: 1600, height: 1000, orientation: 6 }), expected: [375, 600] },
  { name: 'CMYK', make: () => makeImage({ width: 1600, height: 1200, colourspace: 'cmyk' }), expected: [800, 600] },
  { name: 'grayscale', make: () => makeImage({ width: 1000, height: 1000, colourspace: 'b-w' }), expected: [600, 600] },
  { name: 'PNG with alpha', make: () => makeImage({ width: 1200, height: 600, format: 'png', alpha: true }), expected: [800, 400], alpha: true },
];

async function pixel(data: Buffer, x: number, y: number): Promise<number[]> {
  const { data: raw, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...raw.subarray(i, i + info.channels)];
}

describe('every output format, every kind of input', () => {
  const inputs = new Map<string, Buffer>();
  before(async () => {
    for (const c of CASES) inputs.set(c.name, await c.make());
  });

  for (const format of OUTPUT_FORMATS) {
    it(`${format}: decodes with the predicted size, in sRGB, alpha as the format allows`, async () => {
      for (const c of CASES) {
        const input = inputs.get(c.name)!;
        const opts = options({ format });
        const out = await renderImage(input, opts, DEFAULT_RULES);
        const meta = await sharp(out.data).metadata();
        const label = `${format} from ${c.name}`;
        assert.equal(meta.format, format === 'avif' ? 'heif' : format, label);
        assert.deepEqual([meta.width, meta.height], c.expected, label);
        assert.deepEqual([out.width, out.height, out.format], [...c.expected, format], label);
        assert.deepEqual((await readHeader(input, DEFAULT_RULES, opts)).target, { width: c.expected[0], height: c.expected[1] }, label);
        assert.equal(meta.space, 'srgb', label);
        assert.equal(meta.orientation, undefined, `${label}: orientation applied, not written`);
        if (c.alpha) {
          // The left half was transparent: JPEG flattens it onto white, the others keep it.
          const [r, g, b, a] = await pixel(out.data, 100, 200);
          if (format === 'jpeg') assert.ok(!meta.hasAlpha && r! > 245 && g! > 245 && b! > 245 && a === 255, `${label}: white, got ${[r, g, b, a].join()}`);
          else assert.ok(meta.hasAlpha && a === 0, `${label}: transparent, got alpha ${a}`);
        }
      }
    });
  }

  it('flattens onto the chosen background for JPEG', async () => {
    const out = await renderImage(inputs.get('PNG with alpha')!, options({ background: '#ff0000' }), DEFAULT_RULES);
    const [r, g, b] = await pixel(out.data, 100, 200);
    assert.ok(r! > 240 && g! < 20 && b! < 20, `red, got ${[r, g, b].join()}`);
  });

  it('the default options give exactly the earlier call’s bytes', async () => {
    const input = inputs.get('landscape')!;
    const earlier = await resizeImage(input, DEFAULT_RULES);
    const now = await renderImage(input, DEFAULT_OUTPUT_OPTIONS, DEFAULT_RULES);
    assert.ok(earlier.data.equals(now.data));
    assert.equal((await sharp(now.data).metadata()).isProgressive, false);
  });

  it('JPEG progressive and mozjpeg, PNG palette below quality 100', async () => {
    const input = inputs.get('landscape')!;
    const progressive = await renderImage(input, options({ progressive: true }), DEFAULT_RULES);
    assert.equal((await sharp(progressive.data).metadata()).isProgressive, true);
    const moz = await renderImage(input, options({ mozjpeg: true }), DEFAULT_RULES);
    const plain = await renderImage(input, options(), DEFAULT_RULES);
    assert.ok(!moz.data.equals(plain.data), 'mozjpeg encodes differently');
    const palette = await renderImage(input, options({ format: 'png', quality: 60 }), DEFAULT_RULES);
    const lossless = await renderImage(input, options({ format: 'png' }), DEFAULT_RULES);
    assert.equal((await sharp(palette.data).metadata()).isPalette, true);
    assert.equal((await sharp(lossless.data).metadata()).isPalette, false);
    assert.ok(palette.data.length < lossless.data.length);
  });
});

describe('fit, cover and enlarge', () => {
  it('cover crops to the exact box, centred or by attention', async () => {
    for (const [w, h] of [
      [4000, 1000],
      [1200, 1600],
      [801, 601],
    ] as const) {
      const input = await makeImage({ width: w, height: h });
      for (const position of ['centre', 'attention'] as const) {
        for (const format of ['jpeg', 'webp'] as const) {
          const out = await renderImage(input, options({ fit: 'cover', position, format }), DEFAULT_RULES);
          const meta = await sharp(out.data).metadata();
          assert.deepEqual([meta.width, meta.height], [800, 600], `${w}x${h} ${position} ${format}`);
        }
      }
    }
  });

  it('never enlarges unless asked', async () => {
    const input = await makeImage({ width: 600, height: 400 });
    const sizeOf = async (o: Partial<OutputOptions>) => {
      const out = await renderImage(input, options(o), DEFAULT_RULES);
      return [out.width, out.height];
    };
    assert.deepEqual(await sizeOf({}), [600, 400]);
    assert.deepEqual(await sizeOf({ fit: 'cover' }), [600, 400]);
    assert.deepEqual(await sizeOf({ enlarge: true }), [800, 533]);
    assert.deepEqual(await sizeOf({ enlarge: true, fit: 'cover' }), [800, 600]);
    assert.deepEqual(await sizeOf({ width: 1920, height: 1080, enlarge: true }), [1620, 1080]);
  });
});

describe('metadata keep and strip', () => {
  let input: Buffer;
  before(async () => {
    const base = await makeImage({ width: 1600, height: 1200 });
    input = await sharp(base)
      .withExif({
        IFD0: { Copyright: 'Copyright 2026 Ana Lima', Artist: 'Ana Lima', Make: 'TestCam', Model: 'T-1000', DateTime: '2026:03:04 05:06:07' },
        IFD2: { DateTimeOriginal: '2026:03:04 05:06:07', OffsetTimeOriginal: '-03:00', BodySerialNumber: 'SN12345' },
        IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '19/1 55/1 1234/100', GPSLongitudeRef: 'W', GPSLongitude: '43/1 56/1 0/1' },
      })
      .withMetadata({ orientation: 6 })
      .withIccProfile('p3')
      .jpeg({ quality: 90 })
      .toBuffer();
    const meta = await sharp(input).metadata();
    assert.ok(meta.exif && meta.icc && meta.orientation === 6, 'the input carries EXIF, GPS, orientation and a P3 profile');
  });

  for (const format of OUTPUT_FORMATS) {
    it(`${format}: keep keeps the dates and copyright, GPS only when asked; strip keeps nothing`, async () => {
      const kept = await sharp((await renderImage(input, options({ format, metadata: 'keep' }), DEFAULT_RULES)).data).metadata();
      assert.ok(kept.exif, `${format}: EXIF written`);
      const exif = exifReader(kept.exif);
      assert.equal(exif.Image?.Copyright, 'Copyright 2026 Ana Lima');
      assert.equal(exif.Image?.Artist, 'Ana Lima');
      assert.equal(exif.Photo?.DateTimeOriginal?.toISOString(), '2026-03-04T05:06:07.000Z');
      assert.equal(exif.Photo?.OffsetTimeOriginal, '-03:00');
      assert.equal(exif.GPSInfo?.GPSLatitude, undefined, 'no GPS without keepGps');
      assert.equal(exif.Image?.Make, undefined, 'nothing outside the kept set');
      assert.equal(exif.Photo?.BodySerialNumber, undefined);
      assert.ok([undefined, 1].includes(kept.orientation), 'the orientation was applied, not kept');
      assert.deepEqual([kept.width, kept.height], [450, 600]);
      assert.ok(kept.icc, 'the sRGB profile is embedded');
      assert.equal(kept.space, 'srgb');

      const withGps = exifReader(
        (await sharp((await renderImage(input, options({ format, metadata: 'keep', keepGps: true }), DEFAULT_RULES)).data).metadata()).exif!,
      );
      assert.equal(withGps.GPSInfo?.GPSLatitudeRef, 'S');
      assert.deepEqual(withGps.GPSInfo?.GPSLatitude, [19, 55, 12.34]);
      assert.deepEqual(withGps.GPSInfo?.GPSLongitude, [43, 56, 0]);

      const stripped = await sharp((await renderImage(input, options({ format }), DEFAULT_RULES)).data).metadata();
      assert.deepEqual(
        [stripped.exif, stripped.icc, stripped.xmp, stripped.iptc, stripped.orientation],
        [undefined, undefined, undefined, undefined, undefined],
        `${format}: strip`,
      );
    });
  }

  it('converts a wide-gamut input to sRGB rather than carrying its profile', async () => {
    // sRGB (200,100,50) written as Display P3: the file stores other numbers and a P3 profile.
    const p3 = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 100, b: 50 } } })
      .withIccProfile('p3')
      .jpeg({ quality: 100 })
      .toBuffer();
    const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    assert.ok(Math.abs(stored[0]! - 200) + Math.abs(stored[1]! - 100) + Math.abs(stored[2]! - 50) > 15, `P3 numbers differ: ${stored.subarray(0, 3).join()}`);
    for (const metadata of ['keep', 'strip'] as const) {
      const out = await renderImage(p3, options({ metadata }), DEFAULT_RULES);
      const [r, g, b] = await pixel(out.data, 32, 32);
      assert.ok(Math.abs(r! - 200) <= 4 && Math.abs(g! - 100) <= 4 && Math.abs(b! - 50) <= 4, `${metadata}: the sRGB colour, got ${[r, g, b].join()}`);
    }
  });
});
