/**
 * Issue 9 items 6 and 7 at the imaging level: damaged files fail with a
 * reason (decoder warnings are failures), and the memory a decode needs is
 * known from the header before any pixel is decoded.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  DEFAULT_RULES,
  optionsFromRules,
  decodeMemoryBytes,
  ImageError,
  processingTimeLimitMs,
  readHeader,
  renderImage,
  resizeImage,
} from '../../src/imaging/index.js';
import { DEFAULT_OUTPUT_OPTIONS, outputOptionsSchema } from '../../src/contract/output-options.js';
import { bitFlippedJpeg, halfJpegWithEnd, interlaced16BitRgbaPng, tallPng, tinyJpegClaimingHuge, zeroPng } from './crafted-images.js';

async function failsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('damaged JPEGs fail instead of completing grey or garbled', () => {
  it('half a photo with an end marker appended', async () => {
    await failsWith(resizeImage(await halfJpegWithEnd(), DEFAULT_RULES), 'CORRUPT_IMAGE', /corrupt or truncated image data \(.*premature end/i);
  });

  it('a bit-flipped photo', async () => {
    await failsWith(resizeImage(await bitFlippedJpeg(), DEFAULT_RULES), 'CORRUPT_IMAGE', /corrupt or truncated image data \(.*Corrupt JPEG data/);
  });

  it('a 268-byte file whose header claims 10000x10000', async () => {
    const bytes = await tinyJpegClaimingHuge();
    assert.equal(bytes.length, 268);
    const header = await readHeader(bytes, DEFAULT_RULES, optionsFromRules(DEFAULT_RULES));
    assert.deepEqual([header.width, header.height], [10000, 10000], 'the header is believable on its own');
    await failsWith(resizeImage(bytes, DEFAULT_RULES), 'CORRUPT_IMAGE', /corrupt or truncated/);
  });

  it('fails in every output format, not only JPEG', async () => {
    const bytes = await halfJpegWithEnd();
    for (const format of ['webp', 'avif', 'png'] as const) {
      await failsWith(renderImage(bytes, outputOptionsSchema.parse({ format }), DEFAULT_RULES), 'CORRUPT_IMAGE', /corrupt/);
    }
  });
});

describe('decode memory from the header', () => {
  let bomb: Buffer;
  before(async () => {
    bomb = await interlaced16BitRgbaPng();
  });

  it('an interlaced 16-bit RGBA 10000x10000 PNG of ~779 KB needs 800 MB decoded', async () => {
    assert.ok(bomb.length > 700_000 && bomb.length < 850_000, `${bomb.length} bytes`);
    const header = await readHeader(bomb, DEFAULT_RULES, optionsFromRules(DEFAULT_RULES));
    assert.deepEqual(
      [header.format, header.width, header.height, header.channels, header.bytesPerChannel, header.interlaced],
      ['png', 10000, 10000, 4, 2, true],
    );
    assert.equal(header.decodeBytes, 10000 * 10000 * 4 * 2);
    // Four in one request: 3.2 GB of decode for 3 MB of upload.
    const four = await Promise.all(
      [bomb, Buffer.from(bomb), Buffer.from(bomb), Buffer.from(bomb)].map((b) => readHeader(b, DEFAULT_RULES, optionsFromRules(DEFAULT_RULES))),
    );
    assert.equal(
      four.reduce((sum, h) => sum + h.decodeBytes, 0),
      3_200_000_000,
    );
  });

  it('counts channels and sample depth, not the file', async () => {
    const cases = [
      [{ width: 300, height: 200, bitDepth: 8, colourType: 0, interlaced: false }, 300 * 200],
      [{ width: 300, height: 200, bitDepth: 8, colourType: 2, interlaced: true }, 300 * 200 * 3],
      [{ width: 300, height: 200, bitDepth: 16, colourType: 2, interlaced: false }, 300 * 200 * 3 * 2],
      [{ width: 300, height: 200, bitDepth: 16, colourType: 6, interlaced: false }, 300 * 200 * 4 * 2],
    ] as const;
    for (const [png, expected] of cases) {
      const header = await readHeader(await zeroPng(png), DEFAULT_RULES, optionsFromRules(DEFAULT_RULES));
      assert.equal(header.decodeBytes, expected, JSON.stringify(png));
      assert.equal(header.interlaced, png.interlaced);
    }
    const tall = await readHeader(await tallPng(), DEFAULT_RULES, optionsFromRules(DEFAULT_RULES));
    assert.equal(tall.decodeBytes, 10_000_000);
    assert.equal(decodeMemoryBytes({ width: 4000, height: 3000, channels: 3, depth: 'uchar' }), 36_000_000);
    assert.equal(decodeMemoryBytes({ width: 100, height: 100, channels: 4, bitsPerSample: 16 }), 80_000);
  });

  it('gives the time limit in proportion to the decode', () => {
    assert.equal(processingTimeLimitMs(0), 5000);
    assert.ok(processingTimeLimitMs(36_000_000) < 5400, 'a 12-MP photo gets about the base');
    assert.ok(processingTimeLimitMs(800_000_000) > 10_000, 'the 800 MB decode gets more');
    const settings = { baseMs: 100, perDecodedMiBMs: 10, perOutputMegapixelMs: { jpeg: 1, webp: 2, avif: 1000, png: 2 } };
    assert.equal(processingTimeLimitMs(2 * 1024 * 1024, settings), 120);
    assert.equal(processingTimeLimitMs(2 * 1024 * 1024, settings, { pixels: 2_000_000, format: 'avif' }), 2120, 'AVIF encoding is given its time');
  });
});

describe('a processing time limit inside libvips', () => {
  it('stops the 1x10,000,000 PNG with TIMEOUT instead of letting it run its course', async () => {
    // libvips counts whole seconds: 1 s is far below the several seconds this decode takes.
    await failsWith(renderImage(await tallPng(), DEFAULT_OUTPUT_OPTIONS, DEFAULT_RULES, { timeoutSeconds: 1 }), 'TIMEOUT', /longer than the limit of 1 s/);
  });
});
