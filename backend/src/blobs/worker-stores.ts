/**
 * The blob stores a worker thread builds for itself from a store's
 * `workerAccess()`, so originals and results travel between the store and
 * libvips without passing through the event loop. One per thread and
 * description, reused for every task.
 */
import type { BlobStore, WorkerBlobAccess } from './blob-store.js';
import { FilesystemBlobStore } from './fs-store.js';

/** Promises, so that a thread's first tasks, arriving together, build one store. */
const stores = new Map<string, Promise<BlobStore>>();

/** The store `access` describes; undefined for `bytes` (the event loop reads and writes for the worker). */
export async function storeForWorker(access: WorkerBlobAccess): Promise<BlobStore | undefined> {
  if (access.kind === 'bytes') return undefined;
  const id = JSON.stringify(access);
  let store = stores.get(id);
  if (!store) {
    store = build(access);
    stores.set(id, store);
    // A store that could not be built is asked for again by the next task.
    store.catch(() => stores.delete(id));
  }
  return store;
}

async function build(access: Exclude<WorkerBlobAccess, { kind: 'bytes' }>): Promise<BlobStore> {
  switch (access.kind) {
    case 'filesystem':
      return new FilesystemBlobStore(access.dir);
    case 's3': {
      // Imported here, not at the top: the AWS SDK costs every isolate that loads it about
      // 35 MiB of RSS, and a worker on the filesystem store has no use for it.
      const { s3StoreFromAccess } = await import('./s3-store.js');
      // The credentials and endpoint come from the environment, which worker threads share with the process.
      return s3StoreFromAccess(access);
    }
  }
}
