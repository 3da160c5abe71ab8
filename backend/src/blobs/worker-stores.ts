/**
 * The blob stores a worker thread builds for itself from a store's
 * `workerAccess()`, so originals and results travel between the store and
 * libvips without passing through the event loop. One per thread and
 * description, reused for every task.
 */
import type { BlobStore, WorkerBlobAccess } from './blob-store.js';
import { FilesystemBlobStore } from './fs-store.js';
import { s3StoreFromAccess } from './s3-store.js';

const stores = new Map<string, BlobStore>();

/** The store `access` describes; undefined for `bytes` (the event loop reads and writes for the worker). */
export function storeForWorker(access: WorkerBlobAccess): BlobStore | undefined {
  if (access.kind === 'bytes') return undefined;
  const id = JSON.stringify(access);
  let store = stores.get(id);
  if (!store) {
    store = build(access);
    stores.set(id, store);
  }
  return store;
}

function build(access: Exclude<WorkerBlobAccess, { kind: 'bytes' }>): BlobStore {
  switch (access.kind) {
    case 'filesystem':
      return new FilesystemBlobStore(access.dir);
    case 's3':
      // The credentials and endpoint come from the environment, which worker threads share with the process.
      return s3StoreFromAccess(access);
  }
}
