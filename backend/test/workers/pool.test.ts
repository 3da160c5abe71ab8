/**
 * The worker pool: the earlier call still works, output options reach the
 * worker, and every image has a time limit that ends in a TIMEOUT result
 * (never an exception, never a stuck thread).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { outputOptionsSchema } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, optionsFromRules, renderImage, resizeImage } from '../../src/imaging/index.js';
import { FilesystemBlobStore } from '../../src/blobs/fs-store.js';
import { ResizePool } from '../../src/workers/pool.js';
import { makeImage } from '../support/images.js';
import { interlaced16BitRgbaPng, tallPng } from '../imaging/crafted-images.js';

/** What an image with no options of its own is made with: the earlier system's rules. */
const defaults = optionsFromRules(DEFAULT_RULES);

describe('resize pool', () => {
  let pool: ResizePool;
  let photo: Buffer;
  before(async () => {
    pool = new ResizePool(1);
    photo = await makeImage({ width: 2000, height: 1500, grain: 6 });
  });
  after(() => pool.close());

  async function completesNormally(label: string): Promise<void> {
    const result = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { options: defaults });
    assert.ok(result.ok, `${label}: ${result.ok ? '' : result.error}`);
    assert.deepEqual([result.width, result.height], [800, 600]);
  }

  it('keeps the earlier call: resize(bytes, rules) gives resizeImage’s bytes', async () => {
    const expected = await resizeImage(photo, DEFAULT_RULES);
    const result = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { options: defaults });
    assert.ok(result.ok);
    assert.ok(Buffer.from(result.data!).equals(expected.data));
    assert.deepEqual([result.format, result.outputFormat, result.inputWidth, result.inputHeight], ['jpeg', 'jpeg', 2000, 1500]);
  });

  it('applies the batch’s output options in the worker, byte for byte as in-process', async () => {
    for (const o of [
      { format: 'webp', fit: 'cover', width: 640, height: 640 },
      { format: 'avif', quality: 40 },
      { format: 'png', metadata: 'keep' },
    ] as const) {
      const options = outputOptionsSchema.parse(o);
      const expected = await renderImage(photo, options, DEFAULT_RULES);
      const result = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { options });
      assert.ok(result.ok, JSON.stringify(o));
      assert.equal(result.outputFormat, options.format);
      assert.ok(Buffer.from(result.data!).equals(expected.data), `${JSON.stringify(o)}: same bytes`);
    }
  });

  it('reads the original from the blob store and writes the result there itself, the same bytes as in-process', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-pool-blobs-'));
    try {
      const store = new FilesystemBlobStore(dir);
      await store.check();
      const original = await store.put('original', photo);
      const access = store.workerAccess();
      const ref = { imageId: 1, kind: 'original' as const, key: original.key };
      const result = await pool.resize({ access, ref }, DEFAULT_RULES, { options: defaults, sink: access });
      assert.ok(result.ok && result.blob, result.ok ? 'no blob' : result.error);
      assert.equal(result.data, undefined, 'nothing comes back through the event loop');
      const stored = await store.read({ imageId: 1, kind: 'result', key: result.blob.key });
      assert.equal(stored.length, result.blob.size);
      assert.ok(stored.equals((await resizeImage(photo, DEFAULT_RULES)).data));
      await store.remove([ref]);
      const gone = await pool.resize({ access, ref }, DEFAULT_RULES, { options: defaults, sink: access });
      assert.deepEqual([gone.ok, !gone.ok && gone.code], [false, 'ORIGINAL_MISSING'], 'an original deleted behind our back fails its image with the reason');
      assert.match(!gone.ok ? gone.error : '', /missing from the blob store/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers a bad image with its reason, not an exception', async () => {
    const result = await pool.resize(Buffer.from('not an image at all'), DEFAULT_RULES, { options: defaults });
    assert.deepEqual([result.ok, !result.ok && result.code], [false, 'UNSUPPORTED_TYPE']);
  });

  it('stops the 1x10,000,000 PNG at its time limit with TIMEOUT, then goes on', async () => {
    // The decode needs over a second of a core on a quiet machine and far more of the clock on a busy
    // one; the limit is a fair share of a core, so 200 ms of it is a sixth of the work whatever the load.
    const result = await pool.resize(await tallPng(), DEFAULT_RULES, { options: defaults, timeLimitMs: 200 });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'TIMEOUT', JSON.stringify(result));
    await completesNormally('after a timeout');
  });

  it('stops a worker libvips cannot interrupt (an interlaced PNG loads whole) and replaces it', async () => {
    // libvips checks its timeout only between regions; the pool's abort answers anyway.
    let exited: Promise<void> | undefined;
    const result = await pool.resize(await interlaced16BitRgbaPng(), DEFAULT_RULES, {
      options: defaults,
      timeLimitMs: 300,
      onAbandoned: (p) => {
        exited = p;
      },
    });
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
    const running = pool.resize(await tallPng(), DEFAULT_RULES, { options: defaults, signal: cancel.signal, timeLimitMs: 60_000 });
    setTimeout(() => cancel.abort(), 200);
    const result = await running;
    assert.equal(!result.ok && result.code, 'ABORTED');
    const before = new AbortController();
    before.abort();
    const early = await pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { options: defaults, signal: before.signal });
    assert.equal(!early.ok && early.code, 'ABORTED');
    await completesNormally('after cancels');
  });

  it('counts the limit in a fair share of a core: crowded CPUs never stop honest work', async () => {
    // As crowded as a machine can be: every second on the clock is next to nothing of fair share.
    const crowded = new ResizePool(1, { contention: { current: () => 1e6 } });
    try {
      const result = await crowded.resize(await tallPng(), DEFAULT_RULES, { options: defaults, timeLimitMs: 300 });
      assert.ok(result.ok, `a 300 ms limit at a millionth of a core never runs out: ${result.ok ? '' : result.error}`);
    } finally {
      await crowded.close();
    }
  });

  it('counts what waits for a thread', async () => {
    const runs = [1, 2, 3].map(() => pool.resize(Uint8Array.from(photo), DEFAULT_RULES, { options: defaults }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pool.busy, 1);
    assert.equal(pool.waiting, 2, 'one thread: one runs, two wait');
    const results = await Promise.all(runs);
    assert.ok(results.every((r) => r.ok));
    assert.equal(pool.waiting, 0);
    assert.equal(pool.busy, 0);
  });
});
