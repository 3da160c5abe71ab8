/** The earlier system's acceptance test: 4 threads, 5 simultaneous uploads → 4 processing, 1 waiting. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stats, UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import sharp from 'sharp';

describe('WORKER_THREADS=4 with 5 uploads', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend({ WORKER_THREADS: '4' });
  });
  after(async () => {
    await t.close();
  });

  it('has 4 images processing and 1 pending at once, then all 5 completed', async () => {
    // 81-megapixel flat PNGs: quick to upload (a few hundred KB) but with no
    // shrink-on-load, slow enough to decode that the state can be observed.
    const files = await Promise.all(
      ['#336699', '#993366', '#669933', '#996633', '#339966'].map(async (background, i) => ({
        name: `big-${i + 1}.png`,
        data: await sharp({ create: { width: 9000, height: 9000, channels: 3, background } })
          .png({ compressionLevel: 9 })
          .toBuffer(),
      })),
    );
    const res = await upload(t.url, files);
    const body = (await res.json()) as UploadResponse;
    assert.equal(body.accepted, 5);
    const seen = await waitFor(
      async () => {
        const { body: s } = await getJson<Stats>(`${t.url}/api/v1/stats`);
        return s.processing === 4 && s.pending === 1 ? s : null;
      },
      30_000,
      10,
    );
    assert.equal(seen.activeThreads, 4);
    assert.equal(seen.totalThreads, 4);
    assert.equal(seen.queueSize, 1);
    const done = await waitFor(async () => {
      const { body: s } = await getJson<Stats>(`${t.url}/api/v1/stats`);
      return s.completed === 5 ? s : null;
    }, 60_000);
    assert.equal(done.processing, 0);
    assert.equal(done.activeThreads, 0);
  });
});
