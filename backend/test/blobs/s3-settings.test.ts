/**
 * The S3 store's settings from the environment, and what it says when it
 * is set up wrong or its store answers 5xx: against a real HTTP server
 * that answers as S3 does when overloaded, and the SDK's own credential
 * and region resolution with nothing to find.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { isBlobStoreError } from '../../src/blobs/blob-store.js';
import { normalizePrefix, s3SettingsFromEnv, type S3StoreSettings } from '../../src/blobs/s3-settings.js';
import { S3BlobStore, s3StoreFromAccess } from '../../src/blobs/s3-store.js';
import { loadEnv } from '../../src/config/env.js';

// Nothing of this machine's AWS set-up may be found: no files, no instance metadata.
process.env.AWS_CONFIG_FILE = '/dev/null';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
for (const name of [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
]) {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- process.env is Node's map of the environment
  delete process.env[name];
}

async function rejectsWithFault(promise: Promise<unknown>, fault: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBlobStoreError(err), `a BlobStoreError, not ${String(err)}`);
    assert.equal(err.fault, fault, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('the S3 store settings', () => {
  it('reads its own settings from the environment', () => {
    const settings = s3SettingsFromEnv(
      loadEnv({
        BLOB_STORE: 's3',
        S3_BUCKET: 'photos',
        S3_PREFIX: 'imgfleet',
        S3_FORCE_PATH_STYLE: 'true',
        S3_CONNECT_TIMEOUT_SECONDS: '2.5',
        S3_REQUEST_TIMEOUT_SECONDS: '10',
      }),
    );
    assert.deepEqual(
      {
        bucket: settings.bucket,
        prefix: settings.prefix,
        forcePathStyle: settings.forcePathStyle,
        connect: settings.connectTimeoutMs,
        request: settings.requestTimeoutMs,
      },
      { bucket: 'photos', prefix: 'imgfleet/', forcePathStyle: true, connect: 2500, request: 10_000 },
    );
    assert.equal(settings.spoolDir, os.tmpdir());
    assert.equal(settings.client, undefined, "where and who are the SDK's own settings");
    const defaults = s3SettingsFromEnv(loadEnv({ BLOB_STORE: 's3', S3_BUCKET: 'photos' }));
    assert.deepEqual([defaults.prefix, defaults.forcePathStyle, defaults.connectTimeoutMs, defaults.requestTimeoutMs], ['', false, 5000, 30_000]);
    assert.throws(() => loadEnv({ BLOB_STORE: 's3', S3_REQUEST_TIMEOUT_SECONDS: '0' }), /S3_REQUEST_TIMEOUT_SECONDS/);
  });

  it('makes every prefix a folder', () => {
    assert.deepEqual(['', '  ', 'a', 'a/', '/a', 'a/b', ' a/b/ '].map(normalizePrefix), ['', '', 'a/', 'a/', 'a/', 'a/b/', 'a/b/']);
  });

  it("builds a worker's store from workerAccess() alone: bucket, prefix and addressing", () => {
    const env = loadEnv({ S3_CONNECT_TIMEOUT_SECONDS: '3' });
    const store = s3StoreFromAccess({ kind: 's3', bucket: 'b', prefix: 'p', forcePathStyle: true }, env);
    assert.deepEqual([store.settings.bucket, store.settings.prefix, store.settings.forcePathStyle, store.settings.connectTimeoutMs], ['b', 'p/', true, 3000]);
    assert.deepEqual(store.workerAccess(), { kind: 's3', bucket: 'b', prefix: 'p/', forcePathStyle: true });
    void store.close();
  });
});

describe('the S3 store set up wrong, or overloaded', () => {
  let server: http.Server;
  let endpoint: string;
  let requests = 0;

  before(async () => {
    // Answers every request as an overloaded S3 does.
    server = http.createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const settings = (client: S3StoreSettings['client']): S3StoreSettings => ({
    ...s3SettingsFromEnv(loadEnv({ BLOB_STORE: 's3', S3_BUCKET: 'photos', S3_FORCE_PATH_STYLE: 'true' })),
    client,
  });
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

  it('says "unavailable" for a store answering 503, after the SDK retried it', async () => {
    const store = new S3BlobStore(settings({ endpoint, region: 'us-east-1', credentials, maxAttempts: 2 }));
    try {
      requests = 0;
      await rejectsWithFault(store.check(), 'unavailable', /bucket "photos" at http:\/\/127\.0\.0\.1:\d+\): listing the bucket: SlowDown \(HTTP 503\)/);
      assert.equal(requests, 2, 'tried twice');
      requests = 0;
      await rejectsWithFault(store.put('result', Buffer.from('x')), 'unavailable', /SlowDown/);
      assert.equal(requests, 2);
    } finally {
      await store.close();
    }
  });

  it('is not ready without a region, or without credentials, and says which setting to give', async () => {
    const noRegion = new S3BlobStore(settings({ endpoint, credentials }));
    const noCredentials = new S3BlobStore(settings({ endpoint, region: 'us-east-1' }));
    try {
      requests = 0;
      await rejectsWithFault(noRegion.check(), 'misconfigured', /no region \(set AWS_REGION\)/);
      await rejectsWithFault(noCredentials.check(), 'misconfigured', /no credentials: .*set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      assert.equal(requests, 0, 'nothing was sent');
    } finally {
      await noRegion.close();
      await noCredentials.close();
    }
  });
});
