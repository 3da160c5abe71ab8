/**
 * HEIC/HEIF (made at test time with heif-enc), TIFF and GIF inputs: their
 * header, their size in every mode, the phone's rotation applied once, the
 * EXIF dates kept, the colour profile applied, the first frame of an
 * animation, and hostile or broken files refused with the image's reason.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, heifDecodeBytes, ImageError, readHeader, renderImage } from '../../src/imaging/index.js';
import { makeHeic, withRotation } from '../support/heif.js';

const RED = { r: 255, g: 0, b: 0 };

/** 1200x800 grey with a red block in the stored top-left corner: where it lands tells the rotation. */
function marked(width = 1200, height = 800) {
  return sharp({ create: { width, height, channels: 3, background: '#808080' } }).composite([
    { input: { create: { width: 200, height: 200, channels: 3, background: RED } }, left: 0, top: 0 },
  ]);
}

/** Which corner of `image` is red: 'tl', 'tr', 'bl' or 'br'. */
async function redCorner(image: Buffer): Promise<string> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return data[i]! > 200 && data[i + 1]! < 60 && data[i + 2]! < 60;
  };
  const m = 5;
  const corners: [string, number, number][] = [
    ['tl', m, m],
    ['tr', info.width - m, m],
    ['bl', m, info.height - m],
    ['br', info.width - m, info.height - m],
  ];
  return corners
    .filter(([, x, y]) => at(x, y))
    .map(([c]) => c)
    .join(',');
}

const options = (o: Partial<OutputOptions> = {}): OutputOptions => ({ ...DEFAULT_OUTPUT_OPTIONS, ...o });

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ImageError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return err instanceof ImageError && err.code === code;
  });
  return caught as ImageError;
}

describe('HEIC/HEIF input', () => {
  let plain: Buffer;
  /** Like a phone's: EXIF Orientation 6 and the irot turning it, plus dates. */
  let phone: Buffer;
  let phoneJpeg: Buffer;
  before(async () => {
    plain = await makeHeic(await marked().jpeg({ quality: 90 }).toBuffer());
    phoneJpeg = await marked()
      .jpeg({ quality: 90 })
      .withExif({ IFD0: { DateTime: '2021:05:06 07:08:09' }, IFD2: { DateTimeOriginal: '2021:05:06 07:08:09' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    phone = withRotation(await makeHeic(phoneJpeg), 3);
  });

  it('reads the header without decoding: size, format, the decode memory the decoder needs', async () => {
    const header = await readHeader(plain, DEFAULT_RULES, options());
    assert.equal(header.format, 'heif');
    assert.deepEqual([header.width, header.height], [1200, 800]);
    assert.deepEqual(header.target, { width: 800, height: 533 });
    assert.equal(header.decodeBytes, heifDecodeBytes(1200, 800, header.channels, plain.length));
    assert.ok(header.decodeBytes > 1200 * 800 * 10, 'the decoder needs ~10 bytes a pixel, not the 3 of the RGB it gives');
  });

  it('decodes and resizes it, the output exactly the predicted size', async () => {
    for (const o of [
      options(),
      options({ width: 300, height: null }),
      options({ width: null, height: null, longEdge: 640 }),
      options({ width: null, height: null, scale: 25 }),
    ]) {
      const header = await readHeader(plain, DEFAULT_RULES, o);
      const out = await renderImage(plain, o, DEFAULT_RULES);
      assert.deepEqual({ width: out.width, height: out.height }, header.target, JSON.stringify(o));
      const meta = await sharp(out.data).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', out.width, out.height]);
      assert.equal(await redCorner(out.data), 'tl');
    }
  });

  it('applies the rotation phones record (irot) once, whatever the EXIF Orientation says', async () => {
    const header = await readHeader(phone, DEFAULT_RULES, options());
    assert.deepEqual([header.oriented.width, header.oriented.height], [800, 1200]);
    const out = await renderImage(phone, options(), DEFAULT_RULES);
    assert.deepEqual([out.width, out.height], [400, 600]);
    // The same photo as a JPEG with EXIF Orientation 6 comes out the same way up.
    const jpeg = await renderImage(phoneJpeg, options(), DEFAULT_RULES);
    assert.deepEqual([jpeg.width, jpeg.height], [400, 600]);
    assert.equal(await redCorner(out.data), 'tr');
    assert.equal(await redCorner(jpeg.data), 'tr');
  });

  it('keeps the EXIF dates with metadata keep', async () => {
    const out = await renderImage(phone, options({ metadata: 'keep' }), DEFAULT_RULES);
    const meta = await sharp(out.data).metadata();
    assert.ok(meta.exif, 'EXIF written');
    assert.match(meta.exif.toString('latin1'), /2021:05:06 07:08:09/);
    assert.ok(meta.orientation === undefined || meta.orientation === 1, `no Orientation left to rotate it again (${meta.orientation})`);
  });

  it('applies its ICC profile (Display P3) as for a PNG with the same profile', async () => {
    // sharp converts the sRGB colour into P3 numbers and tags the file P3: rendering must convert them back.
    const p3 = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40, g: 200, b: 90 } } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const heic = await makeHeic(p3, 95);
    const firstPixel = async (b: Buffer) => [
      ...(
        await sharp((await renderImage(b, options({ format: 'png' }), DEFAULT_RULES)).data)
          .raw()
          .toBuffer()
      ).subarray(0, 3),
    ];
    const stored = [...(await sharp(p3).keepIccProfile().raw().toBuffer()).subarray(0, 3)];
    assert.ok(Math.abs(stored[0]! - 40) > 15, `the file holds P3 numbers, not sRGB's (${stored.join()})`);
    for (const [name, pixel] of [
      ['PNG', await firstPixel(p3)],
      ['HEIC', await firstPixel(heic)],
    ] as const) {
      // The HEIC's lossy coding moves the colour a little.
      assert.ok(
        pixel.every((v, i) => Math.abs(v - [40, 200, 90][i]!) <= 6),
        `${name}: ${pixel.join()} ≈ 40,200,90 once converted to sRGB`,
      );
    }
  });

  it('refuses a truncated HEIC as corrupt, and one with too many pixels before decoding', async () => {
    const truncated = await rejectsWith(renderImage(plain.subarray(0, Math.floor(plain.length * 0.6)), options(), DEFAULT_RULES), 'CORRUPT_IMAGE');
    assert.match(truncated.message, /corrupt/);
    const big = await rejectsWith(renderImage(plain, options(), { ...DEFAULT_RULES, maxPixels: 500_000 }), 'TOO_MANY_PIXELS');
    assert.match(big.message, /1200x800/);
  });
});

describe('TIFF and GIF input', () => {
  it('a TIFF (LZW, with an EXIF orientation) is decoded, oriented and sized', async () => {
    const tiff = await marked().withMetadata({ orientation: 6 }).tiff({ compression: 'lzw' }).toBuffer();
    const header = await readHeader(tiff, DEFAULT_RULES, options());
    assert.equal(header.format, 'tiff');
    const out = await renderImage(tiff, options({ width: null, height: null, longEdge: 300 }), DEFAULT_RULES);
    assert.deepEqual([out.width, out.height], [200, 300]);
    assert.equal(await redCorner(out.data), 'tr');
  });

  it('an animated GIF gives its first frame; the header counts the frames', async () => {
    const frame = (colour: string) =>
      sharp({ create: { width: 120, height: 80, channels: 3, background: colour } })
        .raw()
        .toBuffer();
    const frames = Buffer.concat([await frame('#ff0000'), await frame('#0000ff')]);
    const gif = await sharp(frames, { raw: { width: 120, height: 160, channels: 3, pageHeight: 80 } })
      .gif()
      .toBuffer();
    const header = await readHeader(gif, DEFAULT_RULES, options());
    assert.equal(header.format, 'gif');
    assert.deepEqual([header.width, header.height, header.pages], [120, 80, 2]);
    const out = await renderImage(gif, options({ format: 'png' }), DEFAULT_RULES);
    assert.deepEqual([out.width, out.height], [120, 80]);
    const { data } = await sharp(out.data).raw().toBuffer({ resolveWithObject: true });
    assert.ok(data[0]! > 200 && data[2]! < 60, 'the first (red) frame');
  });
});
