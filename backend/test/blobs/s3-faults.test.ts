/**
 * The S3 store when its gateway fails, against a real Ceph RADOS Gateway
 * of the test's own (same cluster as the machine's shared one, own port,
 * own process to stop, kill and freeze) and a real TCP proxy that makes it
 * slow: every call rejects with a BlobStoreError whose reason says what
 * happened, within the store's timeouts, nothing is left half-written, and
 * the store serves again once the gateway is back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isBlobStoreError, type BlobRef } from '../../src/blobs/blob-store.js';
import type { S3StoreSettings } from '../../src/blobs/s3-settings.js';
import { S3BlobStore } from '../../src/blobs/s3-store.js';
import { startDeafListener, startStoreProxy } from '../support/rgw-proxy.js';
import {
  createTestBucket,
  rgwAdminClient,
  rgwClientConfig,
  rgwStoreSettings,
  startPrivateGateway,
  type PrivateGateway,
  type TestBucket,
} from '../support/rgw.js';
import { readAll, streamBlob } from './support/contract.js';

const refOf = (staged: { kind: 'original' | 'result'; key: string | null }): BlobRef => ({ imageId: 0, kind: staged.kind, key: staged.key });

async function rejectsWithFault(promise: Promise<unknown>, fault: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBlobStoreError(err), `a BlobStoreError, not ${String(err)}`);
    assert.equal(err.fault, fault, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Reads one chunk of `stream`, then hands back an iterator over the rest. */
async function firstChunkThenRest(stream: Readable): Promise<{ first: Buffer; rest: () => Promise<number> }> {
  const it = stream[Symbol.asyncIterator]();
  const head = await it.next();
  assert.ok(!head.done);
  return {
    first: head.value as Buffer,
    async rest() {
      let n = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) n += (r.value as Buffer).length;
      return n;
    },
  };
}

describe('the S3 store when its gateway fails', () => {
  let bucket: TestBucket;
  let gateway: PrivateGateway;
  let spoolDir: string;
  let admin: S3Client;
  const stores: S3BlobStore[] = [];

  const storeAt = (endpoint: string, overrides: Partial<S3StoreSettings> = {}): S3BlobStore => {
    const store = new S3BlobStore(rgwStoreSettings(bucket.name, spoolDir, { client: rgwClientConfig(endpoint), ...overrides }));
    stores.push(store);
    return store;
  };
  const objectKeys = async (): Promise<string[]> =>
    ((await admin.send(new ListObjectsV2Command({ Bucket: bucket.name }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  const pendingUploads = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket.name }))).Uploads ?? [];

  before(async () => {
    bucket = await createTestBucket('faults');
    gateway = await startPrivateGateway();
    spoolDir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-s3-spool-'));
    admin = rgwAdminClient();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await gateway?.destroy();
    await bucket?.destroy();
    admin?.destroy();
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  });

  it('rejects every call with "unavailable" while the gateway is down, keeps nothing half, and serves again when it returns', async () => {
    const store = storeAt(gateway.endpoint);
    const kept = await store.put('result', randomBytes(100_000));
    const before = await objectKeys();
    await gateway.kill();

    const refused = /unavailable|ECONNREFUSED/;
    await rejectsWithFault(store.check(), 'unavailable', refused);
    await rejectsWithFault(store.put('result', randomBytes(1000)), 'unavailable', refused);
    await rejectsWithFault(streamBlob(store, 'original', randomBytes(3_000_000)), 'unavailable', /writing originals\/.*ECONNREFUSED/);
    await rejectsWithFault(streamBlob(store, 'original', randomBytes(20 * 1024 * 1024), 1024 * 1024), 'unavailable', refused);
    await rejectsWithFault(store.open(refOf(kept)), 'unavailable', refused);
    await rejectsWithFault(store.size(refOf(kept)), 'unavailable', refused);
    await rejectsWithFault(store.remove([refOf(kept)]), 'unavailable', refused);
    await rejectsWithFault(
      (async () => {
        for await (const _ of store.list(new Date())) continue; // drained: only the error matters
      })(),
      'unavailable',
      refused,
    );
    assert.deepEqual(await objectKeys(), before, 'nothing written while it was down');
    assert.deepEqual(await readdir(spoolDir), [], 'no spool file left');

    await gateway.start();
    await store.check();
    assert.equal((await store.read(refOf(kept))).length, 100_000);
    const after = await store.put('result', randomBytes(10));
    assert.equal(await store.size(refOf(after)), 10);
  });

  it('fails a download whose gateway is killed mid-stream (never ends it short), and serves it again after the restart', async () => {
    const store = storeAt(gateway.endpoint);
    const bytes = randomBytes(32 * 1024 * 1024);
    const ref = refOf(await streamBlob(store, 'original', bytes, 1024 * 1024));
    const { first, rest } = await firstChunkThenRest(await store.open(ref));
    assert.ok(first.length < bytes.length);
    await gateway.kill();
    await rejectsWithFault(rest(), 'unavailable', new RegExp(`download broke after \\d+ of ${bytes.length} bytes`));
    await gateway.start();
    assert.ok((await readAll(await store.open(ref))).equals(bytes));
  });

  it('leaves no multipart upload behind when the gateway dies under one: the upload is aborted, or swept once it is back', async () => {
    const proxy = await startStoreProxy({ targetPort: gateway.port, requestBytesPerSecond: 8 * 1024 * 1024 });
    try {
      const store = storeAt(proxy.endpoint, { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024, partConcurrency: 2 });
      const writer = store.create('original');
      await pipeline(Readable.from([randomBytes(30 * 1024 * 1024)]), writer.stream);
      const finishing = writer.finish();
      await proxy.requestBytesReach(6 * 1024 * 1024); // parts are on their way
      await gateway.kill();
      await rejectsWithFault(finishing, 'unavailable', /writing (part \d+ of )?originals\//);
      await gateway.start();
      // Its AbortMultipartUpload found the gateway down: the sweep ends it.
      assert.equal(await store.sweepIncomplete(new Date(Date.now() + 60_000)), 1);
      assert.deepEqual(await pendingUploads(), []);
      assert.deepEqual(await readdir(spoolDir), []);
      await writer.abort();
    } finally {
      await proxy.close();
    }
  });

  it('aborts the multipart upload of a writer aborted mid-way, and keeps no object of it', async () => {
    const proxy = await startStoreProxy({ targetPort: gateway.port, requestBytesPerSecond: 8 * 1024 * 1024 });
    try {
      const store = storeAt(proxy.endpoint, { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024, partConcurrency: 2 });
      const before = await objectKeys();
      const writer = store.create('original');
      await pipeline(Readable.from([randomBytes(30 * 1024 * 1024)]), writer.stream);
      const finishing = writer.finish();
      await proxy.requestBytesReach(6 * 1024 * 1024);
      assert.equal((await pendingUploads()).length, 1, 'an upload in progress');
      await writer.abort(new Error('the client went away'));
      await assert.rejects(finishing);
      assert.deepEqual(await pendingUploads(), []);
      assert.deepEqual(await objectKeys(), before);
      assert.deepEqual(await readdir(spoolDir), []);
    } finally {
      await proxy.close();
    }
  });

  it('times out on a frozen gateway with a clear reason, fails a download it froze under, and serves again once it wakes', async () => {
    const bytes = randomBytes(32 * 1024 * 1024);
    const ref = refOf(await streamBlob(storeAt(gateway.endpoint), 'original', bytes, 1024 * 1024));
    const store = storeAt(gateway.endpoint, { requestTimeoutMs: 1500, client: { ...rgwClientConfig(gateway.endpoint), maxAttempts: 1 } });
    const { rest } = await firstChunkThenRest(await store.open(ref));
    gateway.freeze();
    try {
      await rejectsWithFault(rest(), 'unavailable', /download broke after \d+ of \d+ bytes: timed out \(no bytes came for 1500 ms\)/);
      await rejectsWithFault(store.check(), 'unavailable', /timed out .*1500 ms/);
      await rejectsWithFault(store.put('result', randomBytes(1000)), 'unavailable', /timed out \(the request socket timed out after 1500 ms of inactivity\)/);
      await rejectsWithFault(streamBlob(store, 'original', randomBytes(1000)), 'unavailable', /writing originals\/.*timed out/);
    } finally {
      gateway.thaw();
    }
    await store.check();
    assert.ok((await store.read(ref)).equals(bytes));
  });

  it('times out on a store whose answers come late, with a clear reason', async () => {
    const proxy = await startStoreProxy({ targetPort: gateway.port, answerDelayMs: 3000 });
    try {
      const store = storeAt(proxy.endpoint, { requestTimeoutMs: 1000, client: { ...rgwClientConfig(proxy.endpoint), maxAttempts: 1 } });
      await rejectsWithFault(store.check(), 'unavailable', /listing the bucket: timed out .*1000 ms requestTimeout/);
    } finally {
      await proxy.close();
    }
  });

  it('takes a slow but steady download to its end, however long past the request timeout it runs', async () => {
    const store = storeAt(gateway.endpoint);
    const bytes = randomBytes(4 * 1024 * 1024);
    const ref = refOf(await store.put('original', bytes));
    const proxy = await startStoreProxy({ targetPort: gateway.port, answerBytesPerSecond: 2 * 1024 * 1024 });
    try {
      // Two seconds of bytes, each 50 ms slice well inside the 500 ms timeout.
      const slow = storeAt(proxy.endpoint, { requestTimeoutMs: 500 });
      assert.ok((await slow.read(ref)).equals(bytes));
    } finally {
      await proxy.close();
    }
  });

  it('takes a slow but steady upload to its end, however long past the request timeout it runs', async () => {
    const proxy = await startStoreProxy({ targetPort: gateway.port, requestBytesPerSecond: 3 * 1024 * 1024 });
    try {
      // Four seconds of sending in one PUT, each step of it well inside the timeout.
      const slow = storeAt(proxy.endpoint, { requestTimeoutMs: 2000 });
      const bytes = randomBytes(12 * 1024 * 1024);
      const staged = await streamBlob(slow, 'original', bytes);
      assert.ok((await storeAt(gateway.endpoint).read(refOf(staged))).equals(bytes));
    } finally {
      await proxy.close();
    }
  });

  it('times out connecting to a store that never answers the connection, with a clear reason', async () => {
    const deaf = await startDeafListener();
    try {
      const store = storeAt(deaf.endpoint, { connectTimeoutMs: 500, client: { ...rgwClientConfig(deaf.endpoint), maxAttempts: 1 } });
      await rejectsWithFault(store.check(), 'unavailable', /did not establish a connection .*500 ms/);
    } finally {
      await deaf.close();
    }
  });
});
