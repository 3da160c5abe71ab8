/**
 * The main-process services against a real backend on a real Postgres. Bad
 * networks come from a real TCP proxy in front of it, never from a fake
 * backend.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_RULES } from '@imgfleet/backend/imaging';
import type { DeletedEvent, StatusEvent } from '@imgfleet/backend/contract';
import { ApiClient } from '../../src/main/services/api-client.js';
import { AppError } from '../../src/main/services/app-error.js';
import { downloadImages } from '../../src/main/services/downloader.js';
import { createEventsClient } from '../../src/main/services/events-client.js';
import { resizeLocally } from '../../src/main/services/local-resizer.js';
import { createMetricsClient } from '../../src/main/services/metrics-client.js';
import { Uploader } from '../../src/main/services/uploader.js';
import type { ConnectionState, MetricsUpdate, UploadProgress } from '../../src/shared/models.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startProxy } from '../support/tcp-proxy.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('services against the real backend', () => {
  let backend: TestBackend;
  let client: ApiClient;
  let work: string;
  let files: string[];

  before(async () => {
    work = await tempDir('services');
    backend = await startTestBackend();
    client = new ApiClient({ baseUrl: backend.url });
    files = await writePhotos(path.join(work, 'in'), [
      { name: 'a.jpg', width: 4000, height: 3000, seed: 1 },
      { name: 'b.jpg', width: 1600, height: 1200, orientation: 6, seed: 2 },
      { name: 'c.jpg', width: 2500, height: 700, orientation: 3, seed: 3 },
      { name: 'd.jpg', width: 500, height: 300, seed: 4 },
    ]);
  });

  after(async () => {
    await backend?.stop();
    await removeDir(work);
  });

  const completedBatch = async (batchId: string, count: number): Promise<void> => {
    await until(
      async () => {
        const batch = await client.batch(batchId);
        return batch.completed + batch.failed === count ? true : undefined;
      },
      60_000,
      `batch ${batchId} to finish`,
    );
  };

  it('uploads with per-file progress into one batch', async () => {
    const batchId = crypto.randomUUID();
    const uploader = new Uploader({ client: () => client, concurrency: 2 });
    const progress: UploadProgress[] = [];
    const summary = await uploader.upload(
      batchId,
      files.map((p) => ({ key: p, path: p })),
      { onProgress: (p) => progress.push(p) },
    );
    assert.equal(summary.accepted, 4);
    assert.equal(summary.outcomes.length, 4);
    for (const file of files) {
      const last = progress.filter((p) => p.key === file).at(-1);
      assert.ok(last, `progress for ${file}`);
      assert.equal(last.loaded, last.total, 'the last progress event is the whole body');
      assert.ok(last.total > (await fs.stat(file)).size, 'the multipart body is the file plus its headers');
    }
    await completedBatch(batchId, 4);
    const listed = await client.listBatch(batchId);
    assert.deepEqual(listed.map((i) => i.filename).sort(), ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
  });

  it('reports a file the backend refuses with its reason, without affecting the others', async () => {
    const text = path.join(work, 'in', 'notes.jpg');
    await fs.writeFile(text, 'not a photo at all');
    const uploader = new Uploader({ client: () => client, concurrency: 4 });
    const summary = await uploader.upload(
      crypto.randomUUID(),
      [text, files[3]!].map((p) => ({ key: p, path: p })),
    );
    assert.equal(summary.rejected, 1);
    assert.equal(summary.accepted, 1);
    const refused = summary.outcomes.find((o) => o.key === text)!;
    assert.ok(refused.ok && refused.result.status === 'failed');
    assert.equal(refused.result.code, 'UNSUPPORTED_TYPE');
  });

  it('cancels uploads in flight and queued, and uploads normally afterwards', async () => {
    // 400 KB/s to the backend: a 1 MB photo takes seconds, plenty of time to cancel it.
    const proxy = await startProxy({ targetPort: backend.backend.port, uploadBytesPerSecond: 400_000 });
    try {
      const slow = new ApiClient({ baseUrl: proxy.url });
      const uploader = new Uploader({ client: () => slow, concurrency: 1 });
      const progress: UploadProgress[] = [];
      const running = uploader.upload(
        crypto.randomUUID(),
        files.slice(0, 3).map((p) => ({ key: p, path: p })),
        { onProgress: (p) => progress.push(p) },
      );
      await until(() => progress.some((p) => p.loaded > 0 && p.loaded < p.total) || undefined, 20_000, 'upload progress');
      assert.equal(uploader.inFlight, 3);
      assert.equal(uploader.cancel(), 3);
      const summary = await running;
      assert.equal(summary.cancelled, 3);
      assert.ok(summary.outcomes.every((o) => !o.ok && o.cancelled && o.code === 'CANCELLED'));

      const after = await uploader.upload(crypto.randomUUID(), [{ key: 'd', path: files[3]! }]);
      assert.equal(after.accepted, 1, 'a new upload works after a cancel');
    } finally {
      await proxy.close();
    }
  });

  it('retries with backoff when the network drops connections, then succeeds', async () => {
    const proxy = await startProxy({ targetPort: backend.backend.port, resetFirst: 2 });
    try {
      const flaky = new ApiClient({ baseUrl: proxy.url });
      const uploader = new Uploader({ client: () => flaky, concurrency: 1, retries: 3, baseDelayMs: 50, maxDelayMs: 200 });
      const progress: UploadProgress[] = [];
      const summary = await uploader.upload(crypto.randomUUID(), [{ key: 'd', path: files[3]! }], { onProgress: (p) => progress.push(p) });
      assert.equal(summary.accepted, 1);
      assert.equal(proxy.resets, 2);
      assert.equal(progress.at(-1)?.attempt, 3, 'the third attempt got through');
    } finally {
      await proxy.close();
    }

    // Nothing listening at all: OFFLINE after the retries, never a hang.
    const dead = new ApiClient({ baseUrl: 'http://127.0.0.1:9' });
    const uploader = new Uploader({ client: () => dead, concurrency: 1, retries: 2, baseDelayMs: 10, maxDelayMs: 20 });
    const summary = await uploader.upload(crypto.randomUUID(), [{ key: 'd', path: files[3]! }]);
    assert.equal(summary.failed, 1);
    const outcome = summary.outcomes[0]!;
    assert.ok(!outcome.ok && outcome.code === 'OFFLINE' && outcome.error.includes('unreachable'));
  });

  it('resizes locally to the very bytes the backend returns for the same file', async () => {
    const batchId = crypto.randomUUID();
    const uploader = new Uploader({ client: () => client, concurrency: 4 });
    const { outcomes } = await uploader.upload(
      batchId,
      files.map((p) => ({ key: p, path: p })),
    );
    await completedBatch(batchId, files.length);
    const local = await resizeLocally(
      files.map((p) => ({ key: p, path: p })),
      { folder: path.join(work, 'local'), template: '{name}.jpg', rules: DEFAULT_RULES },
    );
    assert.equal(local.written, files.length);
    for (const outcome of outcomes) {
      assert.ok(outcome.ok);
      const fromBackend = await client.processed(outcome.result.id);
      const written = local.results.find((r) => r.key === outcome.key);
      assert.ok(written?.ok);
      const fromLocal = await fs.readFile(written.path);
      assert.ok(fromLocal.equals(fromBackend), `${path.basename(outcome.key)}: local bytes equal the backend's (${fromLocal.length} vs ${fromBackend.length})`);
    }
  });

  it('downloads results named by the template, never overwriting, with per-file errors', async () => {
    const batchId = crypto.randomUUID();
    const broken = await writeTruncatedPhoto(path.join(work, 'in', 'broken.jpg'));
    const uploader = new Uploader({ client: () => client, concurrency: 4 });
    const { outcomes } = await uploader.upload(
      batchId,
      [files[0]!, files[1]!, broken].map((p) => ({ key: p, path: p })),
    );
    await completedBatch(batchId, 3);
    const items = outcomes.map((o) => {
      assert.ok(o.ok);
      return { key: o.key, id: o.result.id, name: path.basename(o.key) };
    });
    const folder = path.join(work, 'downloads');
    const first = await downloadImages(client, items, { folder, template: '{name}_{width}x{height}.jpg' });
    assert.equal(first.written, 2);
    const failed = first.results.find((r) => !r.ok);
    assert.ok(failed && !failed.ok && failed.code === 'NOT_COMPLETED' && failed.error.includes('corrupt or truncated'));

    await downloadImages(client, items.slice(0, 1), { folder, template: '{name}_{width}x{height}.jpg' });
    await downloadImages(client, items.slice(0, 1), { folder, template: '{id}-{name}.{ext}' });
    const names = (await fs.readdir(folder)).sort();
    assert.deepEqual(names, [`${items[0]!.id}-a.jpg`, 'a_800x600 (1).jpg', 'a_800x600.jpg', 'b_450x600.jpg']);
    for (const name of names) {
      const meta = await sharp(path.join(folder, name)).metadata();
      assert.equal(meta.format, 'jpeg');
    }
    // The size in the name is the JPEG's own.
    const b = await sharp(path.join(folder, 'b_450x600.jpg')).metadata();
    assert.deepEqual([b.width, b.height], [450, 600]);
  });

  it('gives API errors their code and status', async () => {
    await assert.rejects(client.image(999_999), (err: unknown) => err instanceof AppError && err.code === 'NOT_FOUND' && err.status === 404);
    await assert.rejects(client.retry(999_999), (err: unknown) => err instanceof AppError && err.status === 404);
    await assert.rejects(new ApiClient({ baseUrl: 'http://127.0.0.1:9' }).stats(), (err: unknown) => err instanceof AppError && err.code === 'OFFLINE');
  });

  it('streams status changes live and reconnects after the network drops', async () => {
    const proxy = await startProxy({ targetPort: backend.backend.port });
    const viaProxy = new ApiClient({ baseUrl: proxy.url });
    const batchId = crypto.randomUUID();
    const events: StatusEvent[] = [];
    const deletions: DeletedEvent[] = [];
    const states: ConnectionState['state'][] = [];
    const stream = createEventsClient({
      client: () => viaProxy,
      batchId,
      onStatus: (e) => events.push(e),
      onDeleted: (e) => deletions.push(e),
      onState: (s) => states.push(s.state),
      minDelayMs: 50,
      maxDelayMs: 200,
    });
    stream.start();
    try {
      await until(() => stream.state.state === 'open' || undefined, 10_000, 'the stream to open');
      assert.equal(stream.state.url, proxy.url, 'the state names the backend, not the stream URL');
      const upload = new Uploader({ client: () => client, concurrency: 2 });
      const { outcomes } = await upload.upload(
        batchId,
        [files[0]!, files[3]!].map((p) => ({ key: p, path: p })),
      );
      const ids = outcomes.map((o) => (o.ok ? o.result.id : -1));
      await until(() => ids.every((id) => events.some((e) => e.id === id && e.status === 'completed')) || undefined, 30_000, 'completed events');
      const completed = events.find((e) => e.id === ids[0] && e.status === 'completed')!;
      assert.equal(completed.batchId, batchId);
      assert.deepEqual([completed.width, completed.height], [800, 600]);

      proxy.cutAll();
      await until(() => states.includes('offline') || undefined, 10_000, 'offline state');
      await until(() => (stream.state.state === 'open' && states.lastIndexOf('open') > states.indexOf('offline')) || undefined, 10_000, 'reconnection');
      // Still live after the reconnect.
      const again = await upload.upload(batchId, [{ key: 'again', path: files[3]! }]);
      const againId = again.outcomes[0]!.ok ? again.outcomes[0]!.result.id : -1;
      await until(() => events.some((e) => e.id === againId && e.status === 'completed') || undefined, 30_000, 'events after reconnecting');
      // And deletions on the server, by id.
      await client.remove(againId);
      await until(() => deletions.some((d) => d.id === againId) || undefined, 10_000, 'the deletion');
    } finally {
      stream.stop();
      await proxy.close();
    }
  });

  it('receives the live metrics stream with snapshots and derived figures', async () => {
    const updates: MetricsUpdate[] = [];
    const stream = createMetricsClient({ client: () => client, onUpdate: (u) => updates.push(u), onState: () => undefined });
    stream.start();
    try {
      const sample = await until(
        () => {
          for (const u of updates) {
            if ((u.type === 'snapshot' || u.type === 'derived') && u.sample.derived && typeof u.sample.derived.percentage_memory_caching === 'number')
              return u.sample;
          }
          return undefined;
        },
        20_000,
        'a sample with derived figures',
      );
      assert.equal(sample.pod, 'desktop-test');
      assert.equal(typeof sample.snapshot['app-queue_size'], 'number');
      assert.equal(typeof sample.snapshot['app-total_threads'], 'number');
      assert.ok(Object.keys(sample.derived ?? {}).some((k) => k.startsWith('moving_average_cpu_percent-')));
      const overview = await client.metrics();
      assert.equal(overview.source, 'in-process');
      assert.ok(overview.pods.some((p) => p.pod === 'desktop-test'));
    } finally {
      stream.stop();
    }
  });

  it('sends the API token when the backend requires one', async () => {
    const secured = await startTestBackend({ API_TOKEN: 'desktop-secret', POD_NAME: 'secured' });
    try {
      await assert.rejects(new ApiClient({ baseUrl: secured.url }).stats(), (err: unknown) => err instanceof AppError && err.status === 401);
      const authed = new ApiClient({ baseUrl: secured.url, token: 'desktop-secret' });
      assert.equal((await authed.stats()).pod, 'secured');
      const states: ConnectionState[] = [];
      const stream = createEventsClient({
        client: () => authed,
        batchId: crypto.randomUUID(),
        onStatus: () => undefined,
        onDeleted: () => undefined,
        onState: (s) => states.push(s),
      });
      stream.start();
      await until(() => stream.state.state === 'open' || undefined, 10_000, 'an authorised stream');
      stream.stop();
      const refused = createEventsClient({
        client: () => new ApiClient({ baseUrl: secured.url, token: 'wrong' }),
        batchId: crypto.randomUUID(),
        onStatus: () => undefined,
        onDeleted: () => undefined,
        onState: (s) => states.push(s),
      });
      refused.start();
      const offline = await until(() => states.find((s) => s.state === 'offline'), 10_000, 'a refused stream');
      refused.stop();
      assert.match(offline.error ?? '', /401/);
    } finally {
      await secured.stop();
    }
  });
});
