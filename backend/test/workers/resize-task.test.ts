/**
 * The buffers that cross between the event loop and the resize workers can be
 * transferred. On Node 24 the external memory of sharp's output is marked
 * untransferable: handing it to postMessage as is fails with DataCloneError
 * (every resize failed in the Node 24 container image).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ownedArrayBuffer } from '../../src/workers/resize-task.js';

describe('ownedArrayBuffer', () => {
  it('gives a transferable buffer with the same bytes for sharp’s output', async () => {
    const out = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
    const expected = Buffer.from(out);
    const owned = ownedArrayBuffer(out);
    const moved = structuredClone(owned, { transfer: [owned] });
    assert.deepEqual(Buffer.from(moved), expected);
  });

  it('copies a view into a larger buffer, and hands over a whole one as is', () => {
    const whole = new Uint8Array([1, 2, 3, 4]);
    assert.equal(ownedArrayBuffer(whole), whole.buffer);
    const view = whole.subarray(1, 3);
    const owned = ownedArrayBuffer(view);
    assert.notEqual(owned, whole.buffer);
    assert.deepEqual([...new Uint8Array(owned)], [2, 3]);
  });
});
