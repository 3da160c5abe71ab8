/**
 * The backend started (node backend/dist/src/main.js) with the environment the
 * minikube overlay's Deployment gives its pods, as the kubelet builds it, and no
 * Service link variables (enableServiceLinks: false). Only what points outside the
 * pod is replaced: the database and Redis by this machine's, the port by a free
 * one, the blob volume's mount point by a folder of this test's. A client in the
 * cluster reaching it by the Service's name is served; a rebinding page's Host is
 * refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnBackend, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { rawRequest } from '../support/raw-request.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import { CLUSTER_SECRETS, minikube } from './support/repo.js';

const POD = `image-processor-5d8f7c9b6-t${process.pid}`;

describe('the backend with the Deployment’s own environment', () => {
  let db: TestDatabase;
  let blobs: string;
  let backend: BackendProcess;
  let port: string;
  let deployed: Record<string, string>;

  before(async () => {
    db = await createTestDatabase('imgfleet_deployenv');
    blobs = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-deploy-blobs-'));
    const { container } = minikube.mainContainer('Deployment', 'image-processor');
    deployed = minikube.resolvedEnvironment(container, POD, CLUSTER_SECRETS);
    const database = new URL(db.url);
    const redis = new URL(TEST_REDIS_URL);
    // No *_SERVICE_HOST: the Deployment turns Service links off.
    assert.deepEqual(
      Object.keys(deployed).filter((k) => k.endsWith('_SERVICE_HOST')),
      [],
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...deployed,
      DB_HOST: database.hostname,
      DB_PORT: database.port || '5432',
      DB_NAME: database.pathname.slice(1),
      DB_USER: decodeURIComponent(database.username),
      DB_PASSWORD: decodeURIComponent(database.password),
      REDIS_HOST: redis.hostname,
      REDIS_PORT: redis.port || '6379',
      PORT: '0',
      BLOB_DIR: blobs,
    };
    backend = await spawnBackend(env, 60_000);
    port = new URL(backend.url).port;
  });

  after(async () => {
    if (backend) {
      backend.child.kill('SIGTERM');
      await backend.exit;
    }
    await db?.drop();
    if (blobs) await rm(blobs, { recursive: true, force: true });
  });

  test('listens on every interface, as the pod must, and takes its host names from ALLOWED_HOSTS', () => {
    assert.equal(deployed.HOST, '0.0.0.0');
    assert.ok(deployed.ALLOWED_HOSTS);
  });

  for (const host of ['image-processor', 'image-processor:80', 'image-processor.default.svc.cluster.local', 'localhost:8080', '10.96.0.15']) {
    test(`serves Host: ${host}`, async () => {
      const res = await rawRequest(`http://127.0.0.1:${port}/api/v1/config`, { headers: { host } });
      assert.equal(res.status, 200, res.body);
    });
  }

  for (const host of ['evil.example', 'image-processor.evil.example', 'image-processor.other-namespace']) {
    test(`refuses Host: ${host}`, async () => {
      const res = await rawRequest(`http://127.0.0.1:${port}/api/v1/config`, { headers: { host } });
      assert.equal(res.status, 403, res.body);
      assert.equal(res.json<{ code: string }>().code, 'HOST_NOT_ALLOWED');
    });
  }
});
