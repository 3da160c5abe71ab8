/**
 * The cluster of containers (support/cluster.ts) on the filesystem blob store, as
 * the minikube overlay deploys it: one volume mounted in all three backend
 * containers at the overlay's BLOB_DIR, writable by their user (fsGroup in
 * Kubernetes, `:U` here). After the kill test, every original and result a row
 * names is a file of the size the row records, on the shared volume.
 */
import assert from 'node:assert/strict';
import { minikube } from '../deploy/support/repo.js';
import { describeCluster } from './support/cluster.js';

const { container } = minikube.mainContainer('Deployment', 'image-processor');
const BLOB_DIR = minikube.environmentValue(container, 'BLOB_DIR');

describeCluster('a cluster of containers on one blob volume: Postgres, Redis, three backends and the runtime; one backend killed mid-batch', async (p) => {
  assert.ok(BLOB_DIR, 'the minikube overlay sets BLOB_DIR');
  assert.equal(minikube.environmentValue(container, 'BLOB_STORE'), 'filesystem');
  const volume = await p.volume('blobs');
  return {
    env: { BLOB_STORE: 'filesystem', BLOB_DIR },
    options: ['--volume', `${volume}:${BLOB_DIR}:U`],
    async verifyStored(rows, survivor) {
      // Every file of the volume with its size, as a live pod sees it.
      const listing = await survivor.c.exec('find', BLOB_DIR, '-type', 'f', '-printf', '%P %s\\n');
      const files = new Map(
        listing
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ') as [string, string]),
      );
      for (const r of rows) {
        assert.equal(Number(files.get(r.original_key!)), Number(r.original_bytes), `image ${r.id}: original ${r.original_key}`);
        assert.equal(Number(files.get(r.processed_key!)), Number(r.processed_bytes), `image ${r.id}: result ${r.processed_key}`);
      }
    },
  };
});
