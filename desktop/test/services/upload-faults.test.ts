/**
 * The main process's uploader against the real backend, through a real HTTP
 * proxy that answers 503 or takes a body and never answers: every upload
 * request carries an Idempotency-Key, the same on each retry of one file and
 * a new one per file; a stuck request fails with its reason after the bound
 * instead of sitting at 100 %.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../../src/main/services/api-client.js';
import { Uploader } from '../../src/main/services/uploader.js';
import type { UploadProgress } from '../../src/shared/models.js';
import { writePhotos } from '../support/fixtures.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FAST_RETRY = { retries: 3, baseDelayMs: 20, maxDelayMs: 50 };

describe('uploader: idempotency keys and stuck uploads, against the real backend', () => {
  let backend: TestBackend;
  let proxy: HttpProxy;
  let work: string;
  let files: string[];

  before(async () => {
    work = await tempDir('upload-faults');
    backend = await startTestBackend();
    proxy = await startHttpProxy(backend.url);
    files = await writePhotos(path.join(work, 'in'), [
      { name: 'a.jpg', width: 900, height: 600, seed: 1 },
      { name: 'b.jpg', width: 600, height: 900, seed: 2 },
      { name: 'c.jpg', width: 700, height: 700, seed: 3 },
    ]);
  });

  after(async () => {
    await proxy?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('sends one Idempotency-Key per file and keeps it on every retry of that file', async () => {
    const start = proxy.uploads().length;
    // Each file's first two tries meet an overloaded gateway; the third reaches the backend.
    const tries = new Map<string, number>();
    proxy.setUploadFault((upload) => {
      const key = String(upload.headers['idempotency-key']);
      const n = (tries.get(key) ?? 0) + 1;
      tries.set(key, n);
      return n <= 2 ? 'unavailable' : 'forward';
    });
    const client = new ApiClient({ baseUrl: proxy.url });
    const uploader = new Uploader({ client: () => client, concurrency: 2, ...FAST_RETRY });
    const batchId = crypto.randomUUID();
    const summary = await uploader.upload(
      batchId,
      files.map((p) => ({ key: p, path: p })),
    );
    assert.equal(summary.accepted, 3, JSON.stringify(summary.outcomes));

    const seen = proxy.uploads().slice(start);
    assert.equal(seen.length, 9, 'three tries per file');
    const keys = seen.map((r) => r.headers['idempotency-key']);
    for (const key of keys) assert.match(String(key), UUID_V4);
    assert.equal(new Set(keys).size, 3, 'one key per file');
    for (const key of new Set(keys)) {
      const forKey = seen.filter((r) => r.headers['idempotency-key'] === key);
      assert.deepEqual(
        forKey.map((r) => r.fault),
        ['unavailable', 'unavailable', 'forward'],
        'the same key on every retry',
      );
    }
    // The backend stored each file once.
    assert.equal((await client.listBatch(batchId)).length, 3);
    proxy.setUploadFault(() => 'forward');
  });

  it('fails an upload whose body was sent but never answered, with its reason, and not before the last byte', async () => {
    proxy.setUploadFault(() => 'stall');
    const client = new ApiClient({ baseUrl: proxy.url });
    const uploader = new Uploader({ client: () => client, concurrency: 1, ...FAST_RETRY, timeouts: { responseAfterBodyMs: 800 } });
    const progress: UploadProgress[] = [];
    const summary = await uploader.upload(crypto.randomUUID(), [{ key: files[0]!, path: files[0]! }], { onProgress: (p) => progress.push(p) });
    const outcome = summary.outcomes[0]!;
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && !outcome.cancelled);
    assert.equal(!outcome.ok && outcome.code, 'NO_RESPONSE');
    assert.match(!outcome.ok ? outcome.error : '', /the file was sent, but the backend did not answer within 0\.8 s; retry it/);
    assert.equal(summary.failed, 1);
    const last = progress.at(-1)!;
    assert.equal(last.loaded, last.total, 'the whole body had gone out');
    assert.equal(new Set(progress.map((p) => p.attempt)).size, 1, 'not retried by itself');
    proxy.setUploadFault(() => 'forward');
  });

  it('sends the key the renderer gives for a file (a Retry of a request that got no answer)', async () => {
    const start = proxy.uploads().length;
    const client = new ApiClient({ baseUrl: proxy.url });
    const uploader = new Uploader({ client: () => client, concurrency: 1, ...FAST_RETRY });
    const given = crypto.randomUUID();
    const summary = await uploader.upload(crypto.randomUUID(), [{ key: files[2]!, path: files[2]!, idempotencyKey: given }]);
    assert.equal(summary.accepted, 1);
    assert.deepEqual(proxy.uploadKeys(start), [given]);
  });

  it('bounds the whole request too', async () => {
    proxy.setUploadFault(() => 'stall');
    const client = new ApiClient({ baseUrl: proxy.url });
    const uploader = new Uploader({ client: () => client, concurrency: 1, ...FAST_RETRY, timeouts: { requestMs: 600, responseAfterBodyMs: 60_000 } });
    const summary = await uploader.upload(crypto.randomUUID(), [{ key: files[1]!, path: files[1]! }]);
    const outcome = summary.outcomes[0]!;
    assert.equal(!outcome.ok && outcome.code, 'UPLOAD_TIMEOUT');
    assert.match(!outcome.ok ? outcome.error : '', /took longer than 0\.6 s/);
    proxy.setUploadFault(() => 'forward');
  });
});
