import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_RULES, optionsFromRules, detectFormat, fitInside, ImageError, readHeader, resizeImage, type ResizeRules } from '../../src/imaging/index.js';
import { makeImage, truncate } from '../support/images.js';

const rules: ResizeRules = { ...DEFAULT_RULES };

async function outputOf(input: Buffer, r: ResizeRules = rules) {
  const result = await resizeImage(input, r);
  const meta = await sharp(result.data).metadata();
  return { result, meta };
}

async function rejects(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('resize rules', () => {
  it('fits a landscape photo inside 800x600 as a baseline sRGB JPEG without metadata', async () => {
    const input = await makeImage({ width: 4000, height: 3000, orientation: 1 });
    const { result, meta } = await outputOf(input);
    assert.deepEqual([result.width, result.height], [800, 600]);
    assert.equal(meta.format, 'jpeg');
    assert.deepEqual([meta.width, meta.height], [800, 600]);
    assert.equal(meta.space, 'srgb');
    assert.equal(meta.isProgressive, false);
    assert.equal(meta.exif, undefined, 'EXIF stripped');
    assert.equal(meta.icc, undefined, 'ICC stripped');
    assert.equal(meta.orientation, undefined);
    assert.equal(result.input.format, 'jpeg');
  });

  it('fits a portrait photo by its height', async () => {
    const { result } = await outputOf(await makeImage({ width: 3000, height: 4000 }));
    assert.deepEqual([result.width, result.height], [450, 600]);
  });

  it('never enlarges: 600x400 stays 600x400', async () => {
    const { result, meta } = await outputOf(await makeImage({ width: 600, height: 400 }));
    assert.deepEqual([result.width, result.height], [600, 400]);
    assert.equal(meta.format, 'jpeg');
  });

  it('applies the EXIF orientation before fitting (orientation 6: a landscape sensor image that is really portrait)', async () => {
    // Left half dark, right half light before rotation; rotated 90° clockwise the dark half is on top.
    const width = 2000;
    const height = 1000;
    const raw = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.fill(x < width / 2 ? 20 : 235, (y * width + x) * 3, (y * width + x) * 3 + 3);
    const input = await sharp(raw, { raw: { width, height, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const header = await readHeader(input, rules, optionsFromRules(rules));
    assert.equal(header.orientation, 6);
    assert.deepEqual(header.oriented, { width: 1000, height: 2000 });
    const { result, meta } = await outputOf(input);
    assert.deepEqual([result.width, result.height], [300, 600]);
    assert.equal(meta.orientation, undefined);
    const { data, info } = await sharp(result.data).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    // Orientation 6 means "rotate 90° clockwise to display": the left (dark) half ends on top.
    assert.ok(at(150, 20) < 80, `top should be dark, got ${at(150, 20)}`);
    assert.ok(at(150, 580) > 180, `bottom should be light, got ${at(150, 580)}`);
  });

  it('converts CMYK input to sRGB', async () => {
    const input = await makeImage({ width: 1600, height: 1200, colourspace: 'cmyk' });
    assert.equal((await sharp(input).metadata()).space, 'cmyk');
    const { meta } = await outputOf(input);
    assert.equal(meta.space, 'srgb');
    assert.equal(meta.channels, 3);
    assert.deepEqual([meta.width, meta.height], [800, 600]);
  });

  it('converts grayscale input to an sRGB JPEG', async () => {
    const input = await makeImage({ width: 1000, height: 1000, colourspace: 'b-w' });
    const { meta } = await outputOf(input);
    assert.equal(meta.space, 'srgb');
    assert.deepEqual([meta.width, meta.height], [600, 600]);
  });

  it('flattens a PNG with alpha onto white and outputs JPEG', async () => {
    const input = await makeImage({ width: 1200, height: 600, format: 'png', alpha: true });
    const { result, meta } = await outputOf(input);
    assert.equal(result.input.format, 'png');
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.hasAlpha, false);
    assert.deepEqual([meta.width, meta.height], [800, 400]);
    const { data, info } = await sharp(result.data).raw().toBuffer({ resolveWithObject: true });
    // The left half was fully transparent: it must be white, not black.
    const i = (200 * info.width + 100) * info.channels;
    assert.ok(data[i]! > 245 && data[i + 1]! > 245 && data[i + 2]! > 245, `expected white, got ${data.subarray(i, i + 3).join(',')}`);
  });

  it('accepts progressive JPEG and WebP input', async () => {
    const progressive = await makeImage({ width: 2400, height: 1600, progressive: true });
    assert.equal((await sharp(progressive).metadata()).isProgressive, true);
    assert.deepEqual([(await outputOf(progressive)).result.width, (await outputOf(progressive)).result.height], [800, 533]);
    const webp = await makeImage({ width: 1000, height: 2000, format: 'webp' });
    const { result } = await outputOf(webp);
    assert.equal(result.input.format, 'webp');
    assert.deepEqual([result.width, result.height], [300, 600]);
  });

  it('uses the quality setting and the box from the rules', async () => {
    const input = await makeImage({ width: 3000, height: 2000 });
    const low = await resizeImage(input, { ...rules, quality: 30 });
    const high = await resizeImage(input, { ...rules, quality: 95 });
    assert.ok(low.data.length < high.data.length, 'lower quality gives a smaller file');
    const small = await resizeImage(input, { ...rules, maxWidth: 300, maxHeight: 300 });
    assert.deepEqual([small.width, small.height], [300, 200]);
  });

  it('gives the same bytes for the same input and rules (what makes local previews trustworthy)', async () => {
    const input = await makeImage({ width: 2000, height: 1500, seed: 7 });
    const a = await resizeImage(input, rules);
    const b = await resizeImage(Buffer.from(input), rules);
    assert.ok(a.data.equals(b.data));
  });

  it('fitInside predicts exactly the size sharp produces', async () => {
    const sizes = [
      [4000, 3000],
      [3000, 4000],
      [1024, 768],
      [801, 601],
      [1601, 1199],
      [799, 1200],
      [5000, 17],
      [17, 5000],
      [1000, 751],
      [3264, 2448],
      [6000, 4000],
      [2592, 1944],
      [333, 999],
      [1366, 768],
      [7, 7],
    ] as const;
    for (const [width, height] of sizes) {
      const input = await sharp({ create: { width, height, channels: 3, background: '#808080' } })
        .jpeg()
        .toBuffer();
      const out = await resizeImage(input, rules);
      assert.deepEqual({ width: out.width, height: out.height }, fitInside({ width, height }, rules), `${width}x${height}`);
    }
  });

  it('detects the type by magic bytes, not by name', () => {
    assert.equal(detectFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
    assert.equal(detectFormat(Buffer.from('\x89PNG\r\n\x1a\n0000', 'latin1')), 'png');
    assert.equal(detectFormat(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1')), 'webp');
    assert.equal(detectFormat(Buffer.from('GIF89a')), 'gif');
    assert.equal(detectFormat(Buffer.from('GIF87a')), 'gif');
    assert.equal(detectFormat(Buffer.from('II*\x00\x08\x00\x00\x00', 'latin1')), 'tiff');
    assert.equal(detectFormat(Buffer.from('MM\x00*\x00\x00\x00\x08', 'latin1')), 'tiff');
    assert.equal(detectFormat(Buffer.from('\x00\x00\x00\x18ftypheic', 'latin1')), 'heif');
    assert.equal(detectFormat(Buffer.from('\x00\x00\x00\x18ftypmif1', 'latin1')), 'heif');
    // AVIF is HEIF-shaped but AV1-coded: not taken as input.
    assert.equal(detectFormat(Buffer.from('\x00\x00\x00\x1cftypavif', 'latin1')), null);
    assert.equal(detectFormat(Buffer.from('GIF90a')), null);
    assert.equal(detectFormat(Buffer.from('BM\x00\x00\x00\x00\x00\x00', 'latin1')), null);
    assert.equal(detectFormat(Buffer.from('RIFF\x00\x00\x00\x00WAVEfmt ', 'latin1')), null);
    assert.equal(detectFormat(Buffer.alloc(0)), null);
  });
});

describe('bad input gets a clear per-file error', () => {
  it('empty file', async () => {
    await rejects(resizeImage(Buffer.alloc(0), rules), 'EMPTY_FILE', /empty/);
  });

  it('unsupported type (text, AVIF, BMP-like), whatever the name', async () => {
    await rejects(resizeImage(Buffer.from('hello, I am not a photo'), rules), 'UNSUPPORTED_TYPE', /not a JPEG, PNG, WebP, HEIC\/HEIF, TIFF or GIF/);
    const avif = await sharp({ create: { width: 10, height: 10, channels: 3, background: 'red' } })
      .avif()
      .toBuffer();
    await rejects(resizeImage(avif, rules), 'UNSUPPORTED_TYPE', /not a JPEG/);
    await rejects(resizeImage(Buffer.from('BM\x36\x00\x00\x00\x00\x00\x00\x00', 'latin1'), rules), 'UNSUPPORTED_TYPE', /not a JPEG/);
  });

  it('file over the byte limit', async () => {
    const input = await makeImage({ width: 1000, height: 800 });
    await rejects(resizeImage(input, { ...rules, maxBytes: 1000 }), 'FILE_TOO_LARGE', /above the limit/);
  });

  it('too many pixels, decided from the header before any decoding (decompression bomb)', async () => {
    // A tiny JPEG whose frame header claims 30000x30000 (900 MP).
    const small = await sharp({ create: { width: 16, height: 16, channels: 3, background: 'blue' } })
      .jpeg()
      .toBuffer();
    const bomb = Buffer.from(small);
    const sof = bomb.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(sof > 0);
    bomb.writeUInt16BE(30000, sof + 5);
    bomb.writeUInt16BE(30000, sof + 7);
    await rejects(resizeImage(bomb, rules), 'TOO_MANY_PIXELS', /900\.0 megapixels, above the limit of 100\.0/);
    // And the limit is a setting.
    const photo = await makeImage({ width: 2000, height: 1000 });
    await rejects(resizeImage(photo, { ...rules, maxPixels: 1_000_000 }), 'TOO_MANY_PIXELS', /2000x1000/);
  });

  it('truncated JPEG, PNG and WebP are corrupt, never a half-grey result', async () => {
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const whole = await makeImage({ width: 1200, height: 900, format });
      await rejects(resizeImage(truncate(whole, 0.6), rules), 'CORRUPT_IMAGE', /corrupt or truncated/);
    }
  });

  it('garbage after a valid JPEG signature is corrupt', async () => {
    const junk = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(5000, 0x42)]);
    await rejects(resizeImage(junk, rules), 'CORRUPT_IMAGE', /corrupt/);
  });
});
