/**
 * The S3 store's faults through a whole backend process (issue 25's
 * "Faults, each tested against RGW"): real HTTP, real PostgreSQL, a real
 * Ceph RADOS Gateway. Each test has a bucket of its own; a test that
 * stops the gateway stops one of its own (same cluster, own port), so the
 * machine's shared gateway and the tests on it are never disturbed.
 *
 * - the gateway stopped under a batch: uploads answer 503 with Retry-After
 *   and keep nothing (no row, no object, no unfinished multipart upload, no
 *   spool file); queued images, and images whose originals were being
 *   read, wait and complete once it is back; nothing is lost, nothing done
 *   twice;
 * - a missing bucket the credentials may not create, or refused
 *   credentials, at start: not ready, with a reason, no credential logged;
 * - a frozen gateway (a slow store): uploads answer 503 with a timeout
 *   reason and let go of their slots;
 * - the gateway restarted mid-download (an original, a batch's ZIP): the
 *   response is cut (the client sees a truncated transfer), and the
 *   backend serves it whole again once the gateway is back.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { startStoreProxy } from '../support/rgw-proxy.js';
import {
  createTestBucket,
  rgwAdminClient,
  rgwBackendEnv,
  startPrivateGateway,
  testRgw,
  uniqueBucketName,
  userWhoCannotCreateBuckets,
  type PrivateGateway,
  type TestBucket,
} from '../support/rgw.js';
import { listenToStatuses } from '../support/status-log.js';

interface Readiness {
  status: number;
  body: { error?: string; code?: string };
}

async function readyz(url: string): Promise<Readiness> {
  const res = await fetch(new URL('/readyz', url));
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

/** Resolves once `dir` holds no upload spool file (watching it; no polling). */
async function noSpoolFileIn(dir: string): Promise<void> {
  const watcher = watch(dir);
  try {
    while (readdirSync(dir).some((f) => f.startsWith('imgfleet-s3-'))) await once(watcher, 'change');
  } finally {
    watcher.close();
  }
}

describe('a backend on the S3 store at fault, against a real RGW', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let admin: S3Client;
  const running: BackendProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  const spawn = async (extra: Record<string, string>): Promise<BackendProcess> => {
    const proc = await spawnBackend(baseEnv(db.url, { POD_NAME: `s3-faults-${running.length}`, ...extra }));
    running.push(proc);
    return proc;
  };
  const bucketOfItsOwn = async (label: string): Promise<TestBucket> => {
    const bucket = await createTestBucket(label);
    cleanups.push(() => bucket.destroy());
    return bucket;
  };
  const gatewayOfItsOwn = async (): Promise<PrivateGateway> => {
    const gateway = await startPrivateGateway();
    // Stopped before it goes: a SIGKILLed radosgw's watches on the cluster linger for
    // the OSDs' watch timeout (30 s), and deleting the bucket waits for them.
    cleanups.push(async () => {
      await gateway.stop();
      await gateway.destroy();
    });
    return gateway;
  };
  /** A spool folder of the backend's own (its TMPDIR), to see that no spool file is left. */
  const spoolOfItsOwn = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-s3-backend-spool-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const objectKeys = async (bucket: string): Promise<string[]> =>
    ((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key ?? '').sort();

  before(async () => {
    testRgw();
    db = await createTestDatabase('imgfleet_s3faults');
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    admin = rgwAdminClient();
  });
  afterEach(async () => {
    for (const proc of running.splice(0)) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGKILL');
        await proc.exit;
      }
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await pool.query('DELETE FROM processed_images');
  });
  after(async () => {
    admin?.destroy();
    await pool?.end();
    await db?.drop();
  });

  it('answers 503 with Retry-After and keeps nothing while the gateway is down; queued images wait and complete once it is back', async () => {
    const bucket = await bucketOfItsOwn('down');
    const gateway = await gatewayOfItsOwn();
    const spool = spoolOfItsOwn();
    const backend = await spawn({ ...rgwBackendEnv(bucket.name, { endpoint: gateway.endpoint }), TMPDIR: spool, S3_CONNECT_TIMEOUT_SECONDS: '2' });
    assert.equal((await readyz(backend.url)).status, 200);
    const statuses = await listenToStatuses(db.url);
    try {
      // A first batch goes through as usual.
      const photos = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => makeImage({ width: 900, height: 600, seed: 70 + i })));
      const first = await upload(
        backend.url,
        photos.slice(0, 2).map((data, i) => ({ name: `before-${i}.jpg`, data })),
      );
      assert.equal(first.status, 202);
      const firstIds = ((await first.json()) as UploadResponse).images.map((i) => i.id);
      await statuses.settled(firstIds);

      await gateway.stop();
      const keysBefore = await objectKeys(bucket.name);

      // While it is down, an upload is told to come back later, and nothing of it is kept.
      const refused = await upload(
        backend.url,
        photos.slice(2, 4).map((data, i) => ({ name: `during-${i}.jpg`, data })),
      );
      assert.equal(refused.status, 503, await refused.clone().text());
      const body = (await refused.json()) as { code: string; error: string; stored: number; images: { status: string }[] };
      assert.equal(body.code, 'STORAGE_UNAVAILABLE');
      assert.match(body.error, /S3 store .*ECONNREFUSED/);
      assert.equal(body.stored, 0);
      assert.ok(body.images.every((i) => i.status === 'not_stored'));
      assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After');
      assert.equal((await pool.query("SELECT 1 FROM processed_images WHERE filename LIKE 'during-%'")).rowCount, 0, 'no row');
      assert.deepEqual(await objectKeys(bucket.name), keysBefore, 'no object');
      assert.deepEqual((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket.name }))).Uploads ?? [], [], 'no unfinished multipart upload');
      // The answer may leave before the request's other parts let go of their spool files (they do as they stop).
      await noSpoolFileIn(spool);
      // The pod says so on /readyz (its probe asks again within seconds).
      const down = await waitFor(
        async () => {
          const r = await readyz(backend.url);
          return r.status === 503 ? r : null;
        },
        30_000,
        250,
      );
      assert.match(down.body.error ?? '', /s3 blob store not usable: .*ECONNREFUSED/);

      // Images an earlier pod queued (their originals stored before the gateway went down) meet the outage here.
      const batchId = randomUUID();
      const queued: number[] = [];
      for (const [i, data] of photos.slice(4).entries()) {
        const uuid = randomUUID();
        const key = `originals/${uuid.slice(0, 2)}/${uuid}`;
        // Through the shared gateway: the same cluster and bucket, still up.
        await admin.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: data, ContentType: 'image/jpeg' }));
        const { rows } = await pool.query<{ id: number }>(
          `INSERT INTO processed_images (batch_id, filename, content_type, original_key, original_bytes, original_width, original_height, status)
           VALUES ($1, $2, 'image/jpeg', $3, $4, 900, 600, 'pending') RETURNING id`,
          [batchId, `queued-${i}.jpg`, key, data.length],
        );
        queued.push(Number(rows[0]!.id));
      }
      await pool.query("SELECT pg_notify('imgfleet_work', '')");
      // Each is taken and meets the stopped gateway: it waits (retrying), it is not failed.
      await waitFor(
        () =>
          /"id":\d+[^\n]*processing from the blob store failed; retrying/.test(backend.output()) ||
          statuses.events.some((e) => queued.includes(e.id) && e.status === 'failed'),
      );
      assert.deepEqual(
        statuses.events.filter((e) => queued.includes(e.id) && e.status === 'failed'),
        [],
        'no queued image failed for the outage',
      );

      await gateway.start();
      const last = await statuses.settled(queued);
      assert.deepEqual(
        last.map((e) => e.status),
        ['completed', 'completed'],
      );
      await waitFor(async () => (await readyz(backend.url)).status === 200, 30_000, 250);

      // The client's retry of the refused upload goes through now.
      const retried = await upload(
        backend.url,
        photos.slice(2, 4).map((data, i) => ({ name: `during-${i}.jpg`, data })),
      );
      assert.equal(retried.status, 202);
      const retriedIds = ((await retried.json()) as UploadResponse).images.map((i) => i.id);
      await statuses.settled(retriedIds);

      // Nothing lost, nothing twice: six rows, each completed once, each naming its own two objects, and no other object.
      const { rows } = await pool.query<{ id: number; status: string; original_key: string; processed_key: string }>(
        'SELECT id, status, original_key, processed_key FROM processed_images ORDER BY id',
      );
      assert.equal(rows.length, 6);
      for (const r of rows) {
        assert.equal(r.status, 'completed', `image ${r.id}`);
        assert.equal(statuses.completions(Number(r.id)), 1, `image ${r.id} completed once`);
      }
      assert.deepEqual(await objectKeys(bucket.name), rows.flatMap((r) => [r.original_key, r.processed_key]).sort());
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
    }
  });

  it('completes a batch whose originals were being read when the gateway stopped, each image once, once it is back', async () => {
    const bucket = await bucketOfItsOwn('midbatch');
    const gateway = await gatewayOfItsOwn();
    // The gateway's answers trickle (1 MiB/s a connection): each worker is still reading its original when the gateway stops.
    const proxy = await startStoreProxy({ targetPort: gateway.port, answerBytesPerSecond: 1024 * 1024 });
    cleanups.push(() => proxy.close());
    const backend = await spawn(rgwBackendEnv(bucket.name, { endpoint: proxy.endpoint }));
    const statuses = await listenToStatuses(db.url);
    try {
      const photos = await Promise.all([0, 1, 2, 3].map((i) => makeImage({ width: 2400, height: 1600, seed: 90 + i, grain: 30, quality: 95 })));
      assert.ok(
        photos.every((p) => p.length > 1024 * 1024),
        'each original takes over a second to read',
      );
      const res = await upload(
        backend.url,
        photos.map((data, i) => ({ name: `batch-${i}.jpg`, data })),
      );
      assert.equal(res.status, 202);
      const ids = ((await res.json()) as UploadResponse).images.map((i) => i.id);
      await gateway.stop();
      // The reads are cut; the images wait (retrying), none fails.
      await waitFor(
        () =>
          backend.output().includes('processing from the blob store failed; retrying') ||
          statuses.events.some((e) => ids.includes(e.id) && e.status === 'failed'),
      );
      await gateway.start();
      const last = await statuses.settled(ids);
      assert.deepEqual(
        last.map((e) => e.status),
        ['completed', 'completed', 'completed', 'completed'],
      );
      for (const id of ids) assert.equal(statuses.completions(id), 1, `image ${id} completed once`);
      const { rows } = await pool.query<{ original_key: string; processed_key: string }>(
        'SELECT original_key, processed_key FROM processed_images ORDER BY id',
      );
      assert.equal(rows.length, 4);
      assert.deepEqual(await objectKeys(bucket.name), rows.flatMap((r) => [r.original_key, r.processed_key]).sort(), 'no other object');
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
    }
  });

  it('is not ready, saying why, when its bucket is missing and its credentials may not create it; logs no credential', async () => {
    const keys = await userWhoCannotCreateBuckets();
    const bucket = uniqueBucketName('nobucket');
    const backend = await spawn({ ...rgwBackendEnv(bucket), AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey });
    const ready = await readyz(backend.url);
    assert.equal(ready.status, 503);
    assert.match(ready.body.error ?? '', /s3 blob store not usable/);
    assert.match(ready.body.error ?? '', /the bucket does not exist and could not be created/);
    assert.ok(ready.body.error?.includes(bucket), `the reason names the bucket: ${ready.body.error}`);
    assert.match(backend.output(), /the blob store is not usable; not ready until it is/);
    const res = await upload(backend.url, [{ name: 'x.jpg', data: await makeImage({ width: 64, height: 48 }) }]);
    assert.equal(res.status, 503);
    for (const secret of [keys.secretAccessKey, keys.accessKeyId]) {
      assert.ok(!backend.output().includes(secret), 'no credential in the log');
      assert.ok(!JSON.stringify(ready.body).includes(secret), 'no credential in /readyz');
    }
    assert.equal(backend.child.exitCode, null, 'the process never exited');
  });

  it('is not ready, saying why, when the store refuses its credentials; logs no credential', async () => {
    const bucket = await bucketOfItsOwn('creds');
    const rgw = testRgw();
    const wrongSecret = `wrong-${randomUUID()}`;
    const unknownKey = `UNKNOWN${randomUUID().replace(/-/g, '').slice(0, 13).toUpperCase()}`;
    for (const [label, keys, reason] of [
      ['a wrong secret', { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: wrongSecret }, /refuses these credentials \(SignatureDoesNotMatch\)/],
      ['an unknown key', { AWS_ACCESS_KEY_ID: unknownKey, AWS_SECRET_ACCESS_KEY: wrongSecret }, /refuses these credentials \(InvalidAccessKeyId\)/],
    ] as const) {
      const backend = await spawn({ ...rgwBackendEnv(bucket.name), ...keys });
      const ready = await readyz(backend.url);
      assert.equal(ready.status, 503, label);
      assert.match(ready.body.error ?? '', reason, label);
      assert.ok(ready.body.error?.includes(bucket.name), `${label}: the reason names the bucket: ${ready.body.error}`);
      for (const secret of [wrongSecret, unknownKey, rgw.secretAccessKey]) {
        assert.ok(!backend.output().includes(secret), `${label}: no credential in the log`);
        assert.ok(!JSON.stringify(ready.body).includes(secret), `${label}: no credential in /readyz`);
      }
      assert.equal(backend.child.exitCode, null, `${label}: the process never exited`);
    }
  });

  it('cuts a download short when the gateway is restarted under it, and serves the download whole again once it is back', async () => {
    const bucket = await bucketOfItsOwn('restart');
    const gateway = await gatewayOfItsOwn();
    // The gateway's answers trickle to the backend (4 MiB/s), so a download is surely mid-way when the gateway goes.
    const proxy = await startStoreProxy({ targetPort: gateway.port, answerBytesPerSecond: 4 * 1024 * 1024 });
    cleanups.push(() => proxy.close());
    const backend = await spawn(rgwBackendEnv(bucket.name, { endpoint: proxy.endpoint }));
    const statuses = await listenToStatuses(db.url);
    try {
      // Larger than what the gateway sends ahead (its 4 MiB stripes) before it stops.
      const photo = await makeImage({ width: 4000, height: 3000, seed: 25, grain: 40, quality: 97 });
      assert.ok(photo.length > 8 * 1024 * 1024, `a photo large enough to take a while (${photo.length} bytes)`);
      const res = await upload(backend.url, [{ name: 'large.jpg', data: photo }]);
      assert.equal(res.status, 202);
      const id = ((await res.json()) as UploadResponse).images[0]!.id;
      await statuses.settled([id]);

      const download = await fetch(new URL(`/api/v1/images/${id}/original`, backend.url));
      assert.equal(download.status, 200);
      assert.equal(Number(download.headers.get('content-length')), photo.length);
      const reader = download.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const head = await reader.read();
      assert.ok(!head.done);
      let received = head.value.length;
      await gateway.stop(); // SIGTERM: a restart, as a rollout does it
      await assert.rejects(
        (async () => {
          for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length;
        })(),
        'the client sees the transfer cut, not a short body passed off as whole',
      );
      assert.ok(received < photo.length, `${received} of ${photo.length} bytes`);

      await gateway.start();
      const again = await fetch(new URL(`/api/v1/images/${id}/original`, backend.url));
      assert.equal(again.status, 200);
      assert.ok(Buffer.from(await again.arrayBuffer()).equals(photo), 'whole again');
      assert.equal((await readyz(backend.url)).status, 200);
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
    }
  });

  it('cuts a batch ZIP short when the gateway is restarted under it, and sends it whole once it is back', async () => {
    const bucket = await bucketOfItsOwn('zip');
    const gateway = await gatewayOfItsOwn();
    // The gateway's answers trickle (256 KiB/s a connection): the ZIP is still being sent, entry by entry, when the gateway goes.
    const proxy = await startStoreProxy({ targetPort: gateway.port, answerBytesPerSecond: 256 * 1024 });
    cleanups.push(() => proxy.close());
    const backend = await spawn(rgwBackendEnv(bucket.name, { endpoint: proxy.endpoint }));
    const statuses = await listenToStatuses(db.url);
    try {
      const photos = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => makeImage({ width: 1200, height: 900, seed: 110 + i, grain: 30, quality: 95 })));
      const res = await upload(
        backend.url,
        photos.map((data, i) => ({ name: `zip-${i}.jpg`, data })),
      );
      assert.equal(res.status, 202);
      const answer = (await res.json()) as UploadResponse;
      await statuses.settled(answer.images.map((i) => i.id));

      const zipUrl = new URL(`/api/v1/batches/${answer.batchId}/zip`, backend.url);
      const download = await fetch(zipUrl);
      assert.equal(download.status, 200);
      const size = Number(download.headers.get('content-length'));
      const reader = download.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const head = await reader.read();
      assert.ok(!head.done);
      let received = head.value.length;
      await gateway.stop();
      await assert.rejects(
        (async () => {
          for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length;
        })(),
        'the client sees the ZIP cut, not a short ZIP passed off as whole',
      );
      assert.ok(received < size, `${received} of ${size} bytes`);

      await gateway.start();
      const again = await fetch(zipUrl);
      assert.equal(again.status, 200);
      assert.equal((await again.arrayBuffer()).byteLength, size, 'whole again');
      assert.equal((await readyz(backend.url)).status, 200);
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
    }
  });

  it("answers a frozen gateway's uploads with 503 and a timeout reason, lets go of their slots, and takes uploads once it wakes", async () => {
    const bucket = await bucketOfItsOwn('frozen');
    const gateway = await gatewayOfItsOwn();
    // One upload at a time: a slot the first upload kept would leave the second waiting.
    const backend = await spawn({
      ...rgwBackendEnv(bucket.name, { endpoint: gateway.endpoint }),
      S3_REQUEST_TIMEOUT_SECONDS: '1',
      UPLOAD_CONCURRENCY: '1',
    });
    const photo = await makeImage({ width: 900, height: 600, seed: 130 });
    gateway.freeze();
    try {
      for (const name of ['frozen-0.jpg', 'frozen-1.jpg']) {
        const res = await upload(backend.url, [{ name, data: photo }]);
        assert.equal(res.status, 503, await res.clone().text());
        const body = (await res.json()) as { code: string; error: string };
        assert.equal(body.code, 'STORAGE_UNAVAILABLE');
        assert.match(body.error, /S3 store .*timed out/);
        assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
      }
      const ready = await waitFor(
        async () => {
          const r = await readyz(backend.url);
          return r.status === 503 ? r : null;
        },
        30_000,
        250,
      );
      assert.match(ready.body.error ?? '', /s3 blob store not usable: .*(timed out|no answer)/);
      assert.equal((await pool.query('SELECT 1 FROM processed_images')).rowCount, 0);
    } finally {
      gateway.thaw();
    }
    const statuses = await listenToStatuses(db.url);
    try {
      const res = await upload(backend.url, [{ name: 'awake.jpg', data: photo }]);
      assert.equal(res.status, 202, await res.clone().text());
      const [image] = ((await res.json()) as UploadResponse).images;
      const [last] = await statuses.settled([image!.id]);
      assert.equal(last!.status, 'completed');
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
    }
  });
});
