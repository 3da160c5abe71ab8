/**
 * The S3 store's download stream (watchedBody): it fails rather than hang
 * when the store goes silent while asked for bytes, never mistakes a slow
 * reader for a silent store, and never ends quietly short. Time is the
 * subject here, so the timers are fake; the body is a plain stream standing
 * in for the HTTP response (s3-faults.test.ts does the same with a real
 * gateway killed and frozen mid-download).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { watchedBody } from '../../src/blobs/s3-reader.js';

const IDLE_MS = 1000;

function watched(body: Readable): { out: Readable; failures: { cause: unknown; received: number }[] } {
  const failures: { cause: unknown; received: number }[] = [];
  const out = watchedBody(body, IDLE_MS, (cause, received) => {
    failures.push({ cause, received });
    return new Error(`broke after ${received} bytes: ${(cause as Error).message}`);
  });
  return { out, failures };
}

/** Lets streams move: their internals run on ticks and immediates, which stay real. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a download from the S3 store', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('fails when the store sends nothing while the reader waits, saying how much came', async () => {
    const body = new PassThrough();
    const { out } = watched(body);
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const failed = once(out, 'error');
    body.write(Buffer.alloc(1000));
    await settle();
    assert.equal(chunks.length, 1);
    mock.timers.tick(IDLE_MS - 1);
    await settle();
    assert.equal(out.destroyed, false, 'not yet');
    mock.timers.tick(1);
    const [err] = (await failed) as [Error];
    assert.match(err.message, /^broke after 1000 bytes: no bytes came for 1000 ms$/);
    assert.equal(body.destroyed, true, 'the connection is let go');
  });

  it('waits for a slow reader as long as it takes: a paused reader is not a silent store', async () => {
    const body = new PassThrough({ highWaterMark: 1024 * 1024 });
    const { out, failures } = watched(body);
    const total = 40 * 64 * 1024;
    for (let i = 0; i < 40; i++) body.write(Buffer.alloc(64 * 1024, i));
    body.end();
    // A reader that takes one chunk, then stops reading.
    let received = 0;
    const paused = once(out, 'pause');
    const takeOne = (c: Buffer): void => {
      received += c.length;
      out.pause();
    };
    out.on('data', takeOne);
    await paused;
    await settle();
    mock.timers.tick(60 * IDLE_MS);
    await settle();
    assert.equal(out.destroyed, false);
    assert.ok(received < total);
    out.off('data', takeOne);
    out.on('data', (c: Buffer) => (received += c.length));
    out.resume();
    await once(out, 'end');
    assert.equal(received, total);
    assert.deepEqual(failures, []);
  });

  it('fails, not ends, when the connection breaks or closes before the end', async () => {
    const broken = new PassThrough();
    const a = watched(broken);
    a.out.resume();
    broken.write(Buffer.alloc(10));
    await settle();
    broken.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const [errA] = (await once(a.out, 'error')) as [Error];
    assert.match(errA.message, /broke after 10 bytes: aborted/);

    const closed = new PassThrough();
    const b = watched(closed);
    b.out.resume();
    closed.write(Buffer.alloc(20));
    await settle();
    closed.destroy();
    const [errB] = (await once(b.out, 'error')) as [Error];
    assert.match(errB.message, /broke after 20 bytes: Premature close/);
  });

  it('ends when the body ends, and lets the connection go when its reader gives up', async () => {
    const body = new PassThrough();
    const { out, failures } = watched(body);
    out.resume();
    body.end(Buffer.alloc(5));
    await once(out, 'end');
    mock.timers.tick(10 * IDLE_MS);
    assert.deepEqual(failures, []);

    const held = new PassThrough();
    const second = watched(held);
    const errors: unknown[] = [];
    second.out.on('error', (err) => errors.push(err));
    second.out.resume();
    second.out.destroy();
    await once(held, 'close');
    assert.equal(held.destroyed, true, 'the connection is let go');
    mock.timers.tick(10 * IDLE_MS);
    await settle();
    assert.deepEqual(errors, [], 'a reader that gave up hears no more');
  });
});
