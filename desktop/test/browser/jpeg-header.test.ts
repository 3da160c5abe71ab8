/**
 * The JPEG header reader the browser's previews rely on for the original
 * size (and so the promised "orig → target"), checked against sharp's own
 * reading of the same files: orientation, progressive, large APPn segments,
 * and the cases where it must give up so the page decodes in full.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { readJpegHeader } from '../../src/renderer/platform/jpeg-header.js';
import { images } from '../support/backend-support.js';

describe('readJpegHeader', () => {
  it('reads the stored size and the EXIF orientation, as sharp does', async () => {
    const cases = [
      { width: 640, height: 480 },
      { width: 480, height: 640, orientation: 6 },
      { width: 300, height: 200, orientation: 8 },
      { width: 333, height: 222, orientation: 3, progressive: true },
      { width: 250, height: 250, colourspace: 'cmyk' as const },
      { width: 200, height: 100, colourspace: 'b-w' as const },
    ];
    for (const spec of cases) {
      const data = await images.makeImage(spec);
      const meta = await sharp(data).metadata();
      assert.deepEqual(readJpegHeader(data), { width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 }, JSON.stringify(spec));
    }
  });

  it('finds the frame header after big metadata segments (ICC profile, EXIF)', async () => {
    const base = await images.makeImage({ width: 320, height: 240 });
    const data = await sharp(base)
      .withIccProfile('p3')
      .withExif({ IFD0: { ImageDescription: 'x'.repeat(30_000) } })
      .jpeg()
      .toBuffer();
    assert.ok(data.indexOf(Buffer.from([0xff, 0xc0])) > 30_000, 'the frame header is far into the file');
    assert.deepEqual(readJpegHeader(data), { width: 320, height: 240, orientation: 1 });
  });

  it('gives up (null) on what is not a readable JPEG header, so the page decodes in full', async () => {
    const jpeg = await images.makeImage({ width: 100, height: 80 });
    assert.equal(readJpegHeader(await images.makeImage({ width: 100, height: 80, format: 'png' })), null);
    assert.equal(readJpegHeader(new TextEncoder().encode('not an image at all')), null);
    assert.equal(readJpegHeader(new Uint8Array(0)), null);
    // Cut before the frame header: not enough bytes to know.
    const frame = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    assert.equal(readJpegHeader(jpeg.subarray(0, frame + 4)), null);
    // A view into a bigger buffer is read at its own offset.
    const padded = Buffer.concat([Buffer.alloc(7, 0xaa), jpeg]);
    assert.deepEqual(readJpegHeader(new Uint8Array(padded.buffer, padded.byteOffset + 7, jpeg.length)), { width: 100, height: 80, orientation: 1 });
  });
});
