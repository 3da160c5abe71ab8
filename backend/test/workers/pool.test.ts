/**
 * The worker pool: the earlier call still works, output options reach the
 * worker, and every image has a time limit that ends in a TIMEOUT result
 * (never an exception, never a stuck thread).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { outputOptionsSchema } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, renderImage, resizeImage } from '../../src/imaging/index.js';
import { ResizePool } from '../../src/workers/pool.js';
import { makeImage } from '../support/images.js';
import { interlaced16BitRgbaPng, tallPng } from '../imaging/crafted-images.js';

describe('resize pool', () => {
  let pool: ResizePool;
  let photo: Buffer;
  before(async () => {
    pool = new ResizePool(1);
    photo = await makeImage({ width: 2000, height: 1500, grain: 6 });
  });
  after(() => pool.close());

  async function completesNormally(label: string): Promise<void> {
    const result = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES);
    assert.ok(result.ok, `${label}: ${result.ok ? '' : result.error}`);
    assert.deepEqual([result.width, result.height], [800, 600]);
  }

  it('keeps the earlier call: resize(bytes, rules) gives resizeImage’s bytes', async () => {
    const expected = await resizeImage(photo, DEFAULT_RULES);
    const result = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES);
    assert.ok(result.ok);
    assert.ok(Buffer.from(result.data).equals(expected.data));
    assert.deepEqual([result.format, result.outputFormat, result.inputWidth, result.inputHeight], ['jpeg', 'jpeg', 2000, 1500]);
  });

  it('applies the batch’s output options in the worker, byte for byte as in-process', async () => {
    for (const o of [{ format: 'webp', fit: 'cover', width: 640, height: 640 }, { format: 'avif', quality: 40 }, { format: 'png', metadata: 'keep' }] as const) {
      const options = outputOptionsSchema.parse(o);
      const expected = await renderImage(photo, options, DEFAULT_RULES);
      const result = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { options });
      assert.ok(result.ok, JSON.stringify(o));
      assert.equal(result.outputFormat, options.format);
      assert.ok(Buffer.from(result.data).equals(expected.data), `${JSON.stringify(o)}: same bytes`);
    }
  });

  it('answers a bad image with its reason, not an exception', async () => {
    const result = await pool.resize(Buffer.from('not an image at all'), DEFAULT_RULES);
    assert.deepEqual([result.ok, !result.ok && result.code], [false, 'UNSUPPORTED_TYPE']);
  });

  it('stops the 1x10,000,000 PNG at its time limit with TIMEOUT, then goes on', async () => {
    const result = await pool.resize(await tallPng(), DEFAULT_RULES, { timeLimitMs: 1000 });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'TIMEOUT', JSON.stringify(result));
    await completesNormally('after a timeout');
  });

  it('stops a worker libvips cannot interrupt (an interlaced PNG loads whole) and replaces it', async () => {
    // libvips checks its timeout only between regions; the pool's abort answers anyway.
    let exited: Promise<void> | undefined;
    const result = await pool.resize(await interlaced16BitRgbaPng(), DEFAULT_RULES, { timeLimitMs: 300, onAbandoned: (p) => (exited = p) });
    assert.equal(!result.ok && result.code, 'TIMEOUT', JSON.stringify(result));
    assert.match(!result.ok ? result.error : '', /worker thread was stopped|longer than the limit/);
    await completesNormally('on the fresh thread');
    // The stopped thread's libvips may still be decoding; the caller learns when it is really gone.
    assert.ok(exited, 'told that a thread was stopped mid-image');
    await exited;
    assert.equal(pool.busy, 0);
  });

  it('ends a run its caller cancels with ABORTED', async () => {
    const cancel = new AbortController();
    const running = pool.resize(await tallPng(), DEFAULT_RULES, { signal: cancel.signal, timeLimitMs: 60_000 });
    setTimeout(() => cancel.abort(), 200);
    const result = await running;
    assert.equal(!result.ok && result.code, 'ABORTED');
    const before = new AbortController();
    before.abort();
    const early = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { signal: before.signal });
    assert.equal(!early.ok && early.code, 'ABORTED');
    await completesNormally('after cancels');
  });

  it('derives the limit from the decode size, the worst case the rules admit when unknown', () => {
    const jpegBox = 0.48 * 100; // 800x600 JPEG: 100 ms per output megapixel
    assert.equal(pool.limitFor(DEFAULT_RULES, { decodeBytes: 36_000_000 }), Math.ceil(5000 + (36_000_000 / 2 ** 20) * 8 + jpegBox));
    assert.equal(pool.limitFor(DEFAULT_RULES), Math.ceil(5000 + ((100_000_000 * 8) / 2 ** 20) * 8 + jpegBox));
    const avif4k = outputOptionsSchema.parse({ format: 'avif', width: 3840, height: 2160 });
    assert.equal(pool.limitFor(DEFAULT_RULES, { decodeBytes: 0, options: avif4k }), Math.ceil(5000 + 3840 * 2160 * 8000 / 1e6));
    assert.equal(pool.limitFor(DEFAULT_RULES, { timeLimitMs: 1234 }), 1234);
    const unlimited = new ResizePool(1, { timeLimit: null });
    try {
      assert.equal(unlimited.limitFor(DEFAULT_RULES), undefined);
    } finally {
      void unlimited.close();
    }
  });

  it('counts what waits for a thread', async () => {
    const runs = [1, 2, 3].map(() => pool.resize(Uint8Array.from(photo), DEFAULT_RULES));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pool.busy, 1);
    assert.equal(pool.waiting, 2, 'one thread: one runs, two wait');
    const results = await Promise.all(runs);
    assert.ok(results.every((r) => r.ok));
    assert.equal(pool.waiting, 0);
    assert.equal(pool.busy, 0);
  });
});
