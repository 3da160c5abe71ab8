/**
 * The cluster of containers (support/cluster.ts) on the S3 blob store, as the
 * production overlay deploys it: BLOB_STORE=s3 with a bucket the backends create,
 * path-style addressing, and the AWS SDK's own AWS_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL_S3, against a real Ceph RADOS Gateway
 * (scripts/rgw/rgw.sh, which npm run test:containers starts listening on every
 * interface so that the containers reach it through their network's gateway).
 * After the kill test, every original and result is read back from the store
 * through a live pod, with the size its row records.
 *   TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, TEST_S3_REGION
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describeCluster } from './support/cluster.js';
import { podman } from './support/podman.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: npm run test:containers starts scripts/rgw/rgw.sh and exports it`);
  return value;
}

describeCluster(
  'a cluster of containers on S3 (Ceph RGW): Postgres, Redis, three backends and the runtime; one backend killed mid-batch',
  async (_p, network) => {
    const endpoint = new URL(required('TEST_S3_ENDPOINT'));
    // A gateway on the host's loopback is reached from the containers through their network's gateway address.
    if (['127.0.0.1', 'localhost', '[::1]'].includes(endpoint.hostname)) {
      const gateway = await podman('network', 'inspect', network, '--format', '{{range .Subnets}}{{.Gateway}}{{end}}');
      assert.match(gateway, /^[0-9.]+$/, `network ${network} has no IPv4 gateway`);
      endpoint.hostname = gateway;
    }
    return {
      env: {
        BLOB_STORE: 's3',
        S3_BUCKET: `imgfleet-ct-${process.pid}-${randomBytes(3).toString('hex')}`,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: process.env.TEST_S3_REGION ?? 'us-east-1',
        AWS_ACCESS_KEY_ID: required('TEST_S3_ACCESS_KEY_ID'),
        AWS_SECRET_ACCESS_KEY: required('TEST_S3_SECRET_ACCESS_KEY'),
        AWS_ENDPOINT_URL_S3: endpoint.origin,
      },
      options: [],
      async verifyStored(rows, survivor) {
        for (const r of rows) {
          for (const [kind, bytes] of [
            ['original', r.original_bytes],
            ['processed', r.processed_bytes],
          ] as const) {
            const res = await fetch(`${survivor.url}/api/v1/images/${r.id}/${kind}`);
            assert.equal(res.status, 200, `image ${r.id}: ${kind}`);
            assert.equal((await res.arrayBuffer()).byteLength, Number(bytes), `image ${r.id}: ${kind} size`);
          }
        }
      },
    };
  },
);
