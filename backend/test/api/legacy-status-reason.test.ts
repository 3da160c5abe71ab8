/** GET /status/:id/json (the earlier route) names the reason a failed image failed. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage, truncate } from '../support/images.js';

describe('GET /status/:id/json', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend();
  });
  after(async () => {
    await t.close();
  });

  it('adds `error` (the reason, or null) and keeps the earlier fields', async () => {
    const res = await upload(t.url, [
      { name: 'good.jpg', data: await makeImage({ width: 640, height: 480 }) },
      { name: 'cut.jpg', data: truncate(await makeImage({ width: 1600, height: 1200, seed: 5 }), 0.4) },
      { name: 'notes.txt', data: Buffer.from('plain text, not an image') },
    ]);
    const { images } = (await res.json()) as UploadResponse;
    const [good, cut, text] = images.map((i) => i.id);
    interface Body {
      status: string;
      processed_at: string | null;
      error: string | null;
    }
    const done = async (id: number) =>
      waitFor(async () => {
        const { body } = await getJson<Body>(`${t.url}/status/${id}/json`);
        return body.status === 'completed' || body.status === 'failed' ? body : null;
      });
    const ok = await done(good!);
    assert.deepEqual(Object.keys(ok).sort(), ['error', 'processed_at', 'status']);
    assert.equal(ok.status, 'completed');
    assert.equal(ok.error, null);
    assert.ok(ok.processed_at && !Number.isNaN(Date.parse(ok.processed_at)));
    const broken = await done(cut!);
    assert.equal(broken.status, 'failed');
    assert.match(broken.error ?? '', /corrupt or truncated/);
    const rejected = await done(text!);
    assert.equal(rejected.status, 'failed');
    assert.match(rejected.error ?? '', /\S/);
  });
});
