/**
 * The S3 store's modules (and the AWS SDK under them) are loaded only by a
 * process or worker thread that uses the S3 store: importing them costs an
 * isolate about 35 MiB of RSS, and the backend has five isolates (the main
 * thread and four workers) on the filesystem store by default.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';

describe('the S3 store is loaded only where it is used', () => {
  const resolved: string[] = [];
  // Registered before this file imports any of the backend's modules: every
  // specifier the blob stores' module graphs resolve passes through it.
  const hooks = registerHooks({
    resolve(specifier, context, next) {
      resolved.push(specifier);
      return next(specifier, context);
    },
  });
  const s3Modules = () => resolved.filter((s) => /@aws-sdk|s3-store/.test(s));
  let dir: string;
  let pool: pg.Pool;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-lazy-s3-'));
    // Never connected: opening a store makes no query.
    pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
  });

  after(async () => {
    hooks.deregister();
    await pool.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the filesystem and postgres stores, in the server and in a worker, without the S3 modules', async () => {
    const { loadEnv } = await import('../../src/config/env.js');
    const { openBlobStore } = await import('../../src/blobs/open-store.js');
    const { storeForWorker } = await import('../../src/blobs/worker-stores.js');
    await import('../../src/workers/resize-worker.js');
    const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', BLOB_DIR: dir };
    assert.equal((await openBlobStore(loadEnv({ ...base, BLOB_STORE: 'filesystem' }), pool)).kind, 'filesystem');
    assert.equal((await openBlobStore(loadEnv({ ...base, BLOB_STORE: 'postgres' }), pool)).kind, 'postgres');
    assert.equal((await storeForWorker({ kind: 'filesystem', dir }))?.kind, 'filesystem');
    assert.equal(await storeForWorker({ kind: 'bytes' }), undefined);
    assert.ok(resolved.length > 10, 'the hook saw the modules being resolved');
    assert.deepEqual(s3Modules(), []);
  });

  it('loads them for the S3 store, once, whoever asks first', async () => {
    const { loadEnv } = await import('../../src/config/env.js');
    const { openBlobStore } = await import('../../src/blobs/open-store.js');
    const { storeForWorker } = await import('../../src/blobs/worker-stores.js');
    const env = loadEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', BLOB_STORE: 's3', S3_BUCKET: 'photos', AWS_REGION: 'us-east-1' });
    const store = await openBlobStore(env, pool);
    assert.equal(store.kind, 's3');
    const access = { kind: 's3', bucket: 'photos', prefix: '', forcePathStyle: true } as const;
    const [a, b] = await Promise.all([storeForWorker(access), storeForWorker(access)]);
    assert.ok(a && a === b, "a thread's tasks share one store");
    assert.ok(s3Modules().length > 0);
    await Promise.all([store.close(), a.close()]);
  });
});
