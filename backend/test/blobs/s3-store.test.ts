/**
 * The S3 store against a real Ceph RADOS Gateway (scripts/rgw/rgw.sh): the
 * behaviour every store must have, then what is S3's own (parts, the
 * bucket made at start, refused credentials, a full quota, batches, the
 * sweep of abandoned uploads, a worker thread's own store). Faults of the
 * gateway itself (stopped, killed, frozen, slow) are in s3-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isBlobStoreError, kindOfKey, type BlobRef } from '../../src/blobs/blob-store.js';
import { S3BlobStore } from '../../src/blobs/s3-store.js';
import {
  createTestBucket,
  emptyAndDeleteBucket,
  radosgwAdmin,
  rgwAdminClient,
  rgwBackendEnv,
  rgwClientConfig,
  rgwStoreSettings,
  testRgw,
  uniqueBucketName,
  userWhoCannotCreateBuckets,
  type TestBucket,
} from '../support/rgw.js';
import { describeBlobStore, readAll, streamBlob } from './support/contract.js';

let spoolDir: string;
const spool = async (): Promise<string> => (spoolDir ??= await mkdtemp(path.join(os.tmpdir(), 'imgfleet-s3-spool-')));
after(async () => {
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

describeBlobStore('s3 on a Ceph RADOS Gateway', async () => {
  const bucket = await createTestBucket('contract');
  const store = new S3BlobStore(rgwStoreSettings(bucket.name, await spool()));
  return { store, cleanup: () => bucket.destroy() };
});

describeBlobStore('s3 under a prefix, in parts of 5 MiB', async () => {
  const bucket = await createTestBucket('prefix');
  const store = new S3BlobStore(
    rgwStoreSettings(bucket.name, await spool(), { prefix: 'install-a/', multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 }),
  );
  return { store, cleanup: () => bucket.destroy() };
});

/** A ref for a staged blob without a row (the S3 store's reads need only the key). */
const refOf = (staged: { kind: 'original' | 'result'; key: string | null }): BlobRef => ({ imageId: 0, kind: staged.kind, key: staged.key });

async function rejectsWithFault(promise: Promise<unknown>, fault: string, pattern: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBlobStoreError(err), `a BlobStoreError, not ${String(err)}`);
    assert.equal(err.fault, fault, err.message);
    assert.match(err.message, pattern);
    message = err.message;
    return true;
  });
  return message;
}

describe('the S3 store on a Ceph RADOS Gateway', () => {
  let bucket: TestBucket;
  let store: S3BlobStore;
  let admin: S3Client;

  before(async () => {
    bucket = await createTestBucket('s3');
    store = new S3BlobStore(rgwStoreSettings(bucket.name, await spool(), { prefix: 'p/' }));
    admin = rgwAdminClient();
  });
  after(async () => {
    await store?.close();
    await bucket?.destroy();
    admin?.destroy();
  });

  it('sends a large upload in parts, several at once, from the spool file, and leaves no spool file', async () => {
    const bytes = randomBytes(20 * 1024 * 1024 + 5);
    const staged = await streamBlob(store, 'original', bytes, 256 * 1024);
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket.name, Key: `p/${staged.key}` }));
    assert.match(head.ETag ?? '', /-3"$/, 'a multipart object of three 8 MiB parts');
    assert.equal(head.ContentLength, bytes.length);
    assert.ok((await store.read(refOf(staged))).equals(bytes));
    const small = await streamBlob(store, 'original', randomBytes(3_400_000));
    const smallHead = await admin.send(new HeadObjectCommand({ Bucket: bucket.name, Key: `p/${small.key}` }));
    assert.doesNotMatch(smallHead.ETag ?? '', /-\d+"$/, 'a photo goes up in one PUT');
    assert.deepEqual(await readdir(spoolDir), []);
  });

  it('keeps an empty upload, reads nothing from a range past the end, and refuses a malformed range', async () => {
    const empty = refOf(await streamBlob(store, 'original', Buffer.alloc(0)));
    assert.equal(await store.size(empty), 0);
    assert.equal((await readAll(await store.open(empty, { start: 0 }))).length, 0);
    const ref = refOf(await store.put('result', randomBytes(100)));
    assert.equal((await readAll(await store.open(ref, { start: 100 }))).length, 0);
    assert.equal((await readAll(await store.open(ref, { start: 99 }))).length, 1);
    await assert.rejects(store.open(ref, { start: 10, end: 5 }), RangeError, 'S3 would answer the whole object');
    await assert.rejects(store.open(ref, { start: -1 }), RangeError);
  });

  it('keeps every key under its prefix, and lists only its own kinds of keys', async () => {
    const staged = await store.put('result', randomBytes(10));
    await admin.send(new PutObjectCommand({ Bucket: bucket.name, Key: 'p/originals/not-ours.txt', Body: 'x' }));
    await admin.send(new PutObjectCommand({ Bucket: bucket.name, Key: 'elsewhere/results/aa/x', Body: 'x' }));
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'p/results/' }));
    assert.ok(listed.Contents?.some((o) => o.Key === `p/${staged.key}`));
    const keys: string[] = [];
    for await (const b of store.list(new Date(Date.now() + 60_000))) keys.push(b.key);
    assert.ok(keys.includes(staged.key ?? ''));
    assert.ok(
      keys.every((k) => kindOfKey(k) !== null),
      keys.join(', '),
    );
  });

  it('removes many blobs in batches, and says nothing of keys already gone', async () => {
    const batched = new S3BlobStore(rgwStoreSettings(bucket.name, await spool(), { prefix: 'batches/', deleteBatch: 7 }));
    try {
      const refs = await Promise.all(Array.from({ length: 23 }, async () => refOf(await batched.put('result', randomBytes(100)))));
      await batched.remove([...refs, ...refs.slice(0, 3)]);
      const left = await admin.send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'batches/' }));
      assert.equal(left.KeyCount, 0);
      await batched.remove(refs);
    } finally {
      await batched.close();
    }
  });

  it('lists and sweeps page by page: every blob listed once, every abandoned multipart upload aborted', async () => {
    // Pages of two: the listing's continuation and the uploads' markers are both walked.
    const paged = new S3BlobStore(rgwStoreSettings(bucket.name, await spool(), { prefix: 'paged/', listPageSize: 2 }));
    try {
      const written = await Promise.all(Array.from({ length: 5 }, async (_, i) => (await paged.put(i % 2 ? 'original' : 'result', randomBytes(10))).key ?? ''));
      const uploads: string[] = [];
      for (let i = 0; i < 5; i++) {
        const Key = `paged/originals/ab/${`ab${i}`.padEnd(36, '0')}`;
        const { UploadId } = await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key }));
        await admin.send(new UploadPartCommand({ Bucket: bucket.name, Key, UploadId, PartNumber: 1, Body: randomBytes(1000) }));
        uploads.push(UploadId ?? '');
      }
      const pending = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: 'paged/' }))).Uploads ?? [];
      const listed: string[] = [];
      for await (const b of paged.list(new Date(Date.now() - 3_600_000))) listed.push(b.key);
      assert.equal(listed.length, 0, 'nothing is an hour old');
      assert.equal(await paged.sweepIncomplete(new Date(Date.now() - 3_600_000)), 0);
      assert.deepEqual((await pending()).map((u) => u.UploadId).sort(), [...uploads].sort(), 'young uploads may still be in progress');
      for await (const b of paged.list(new Date(Date.now() + 60_000))) listed.push(b.key);
      assert.deepEqual(listed.sort(), [...written].sort());
      assert.equal(await paged.sweepIncomplete(new Date(Date.now() + 60_000)), uploads.length);
      assert.deepEqual(await pending(), []);
    } finally {
      await paged.close();
    }
  });

  it('answers 507-worthy "full" when the bucket is over its quota', async () => {
    const quota = await createTestBucket('quota');
    const limited = new S3BlobStore(rgwStoreSettings(quota.name, await spool()));
    try {
      await radosgwAdmin(['quota', 'set', '--quota-scope=bucket', `--bucket=${quota.name}`, '--max-size=1048576']);
      await radosgwAdmin(['quota', 'enable', '--quota-scope=bucket', `--bucket=${quota.name}`]);
      await rejectsWithFault(limited.put('result', randomBytes(2 * 1024 * 1024)), 'full', /full.*QuotaExceeded/);
      await rejectsWithFault(streamBlob(limited, 'original', randomBytes(2 * 1024 * 1024)), 'full', /QuotaExceeded/);
      assert.deepEqual(await readdir(spoolDir), []);
    } finally {
      await limited.close();
      await quota.destroy();
    }
  });

  it('makes a missing bucket at the first check, and is then ready', async () => {
    const name = uniqueBucketName('made');
    const fresh = new S3BlobStore(rgwStoreSettings(name, await spool()));
    try {
      await assert.rejects(admin.send(new HeadBucketCommand({ Bucket: name })));
      await fresh.check();
      await admin.send(new HeadBucketCommand({ Bucket: name }));
      const staged = await fresh.put('result', Buffer.from('made'));
      assert.equal((await fresh.read(refOf(staged))).toString(), 'made');
      await fresh.check();
    } finally {
      await fresh.close();
      await emptyAndDeleteBucket(admin, name);
    }
  });

  it('is not ready when the bucket is missing and the credentials cannot make it, and says so', async () => {
    const keys = await userWhoCannotCreateBuckets();
    const name = uniqueBucketName('cannot');
    const refused = new S3BlobStore(rgwStoreSettings(name, await spool(), { client: rgwClientConfig(undefined, keys) }));
    try {
      const message = await rejectsWithFault(refused.check(), 'misconfigured', /does not exist and could not be created/);
      assert.ok(message.includes(name), message);
      assert.ok(!message.includes(keys.secretAccessKey) && !message.includes(keys.accessKeyId), 'no credential in the reason');
      await assert.rejects(admin.send(new HeadBucketCommand({ Bucket: name })));
    } finally {
      await refused.close();
    }
  });

  it('is not ready with a wrong key or a wrong secret, and says which without naming either', async () => {
    const rgw = testRgw();
    for (const [keys, code] of [
      [{ accessKeyId: 'NOSUCHKEY0000000000X', secretAccessKey: rgw.secretAccessKey }, 'InvalidAccessKeyId'],
      [{ accessKeyId: rgw.accessKeyId, secretAccessKey: 'not-the-secret-at-all' }, 'SignatureDoesNotMatch'],
    ] as const) {
      const wrong = new S3BlobStore(rgwStoreSettings(bucket.name, await spool(), { client: rgwClientConfig(undefined, keys) }));
      try {
        const message = await rejectsWithFault(wrong.check(), 'misconfigured', new RegExp(`refuses these credentials \\(${code}\\)`));
        assert.ok(!message.includes(keys.secretAccessKey) && !message.includes(keys.accessKeyId), message);
        await rejectsWithFault(wrong.put('result', Buffer.from('x')), 'misconfigured', new RegExp(code));
      } finally {
        await wrong.close();
      }
    }
  });

  it('is not ready when its spool folder cannot be written', async () => {
    const missing = new S3BlobStore(rgwStoreSettings(bucket.name, path.join(await spool(), 'not-there')));
    try {
      await rejectsWithFault(missing.check(), 'misconfigured', /spool folder .*not-there is not writable/);
      await rejectsWithFault(streamBlob(missing, 'original', randomBytes(1000)), 'misconfigured', /cannot write the upload spool folder/);
    } finally {
      await missing.close();
    }
  });

  it('signs a short-lived download URL that serves the bytes with the given type and name, whole or by range, and nothing if altered', async () => {
    const bytes = randomBytes(200_000);
    const ref = refOf(await store.put('result', bytes));
    const url = await store.presignedDownloadUrl(ref, {
      expiresInSeconds: 60,
      contentType: 'image/jpeg',
      contentDisposition: `attachment; filename="processed_7.jpg"; filename*=UTF-8''processed_%C3%A9.jpg`,
    });
    assert.ok(url.startsWith(`${testRgw().endpoint}/${bucket.name}/p/results/`), url);
    assert.ok(!url.includes(testRgw().secretAccessKey));
    const answer = await fetch(url);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'image/jpeg');
    assert.match(answer.headers.get('content-disposition') ?? '', /filename="processed_7\.jpg"/);
    assert.ok(Buffer.from(await answer.arrayBuffer()).equals(bytes));
    const ranged = await fetch(url, { headers: { Range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20)));
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    assert.equal((await fetch(longer)).status, 403, 'a URL whose terms were changed is refused');
  });

  it('serves a worker thread its own store from workerAccess() and the environment', async () => {
    const original = await store.put('original', randomBytes(50_000));
    const access = store.workerAccess();
    assert.deepEqual(access, { kind: 's3', bucket: bucket.name, prefix: 'p/', forcePathStyle: true });
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { s3StoreFromAccess } = await import(workerData.module);
        const store = s3StoreFromAccess(workerData.access);
        const bytes = await store.read(workerData.ref);
        const result = await store.put('result', Buffer.from(bytes.subarray(0, 1000)).reverse());
        await store.close();
        parentPort.postMessage(result);
      })().catch((err) => parentPort.postMessage({ error: String(err && err.message) }));`;
    const worker = new Worker(code, {
      eval: true,
      workerData: { module: new URL('../../src/blobs/s3-store.js', import.meta.url).href, access, ref: refOf(original) },
      env: { ...process.env, ...rgwBackendEnv(bucket.name, { prefix: 'ignored-the-access-says' }) },
    });
    try {
      const [answer] = await new Promise<[{ key?: string; kind?: string; size?: number; error?: string }]>((resolve, reject) => {
        worker.once('message', (m: { key?: string; kind?: string; size?: number; error?: string }) => resolve([m]));
        worker.once('error', reject);
      });
      assert.equal(answer.error, undefined);
      assert.equal(answer.kind, 'result');
      const written = await readAll(await store.open(refOf({ kind: 'result', key: answer.key ?? null })));
      const sent = await store.read(refOf(original));
      assert.ok(written.equals(Buffer.from(sent.subarray(0, 1000)).reverse()));
    } finally {
      await worker.terminate();
    }
  });
});
