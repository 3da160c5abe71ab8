/** The blob store the configuration names (BLOB_STORE), with the earlier rows' bytes still readable from their columns. */
import type pg from 'pg';
import { blobDir, type Env } from '../config/env.js';
import type { Logger } from '../logger.js';
import type { BlobStore } from './blob-store.js';
import { FilesystemBlobStore } from './fs-store.js';
import { PostgresBlobStore } from './pg-store.js';
import { RowFallbackStore } from './row-fallback.js';

export async function openBlobStore(env: Env, db: pg.Pool, logger?: Logger): Promise<BlobStore> {
  const inRows = new PostgresBlobStore(db);
  switch (env.BLOB_STORE) {
    case 'postgres':
      return inRows;
    case 'filesystem':
      // The default folder under DATA_DIR is made when missing; a configured BLOB_DIR (a volume) must exist.
      return new RowFallbackStore(new FilesystemBlobStore(blobDir(env), { create: env.BLOB_DIR === undefined }), inRows);
    case 's3': {
      // Imported only for this store: the AWS SDK costs the process about 35 MiB of RSS (worker-stores.ts).
      const { s3StoreFromEnv } = await import('./s3-store.js');
      return new RowFallbackStore(s3StoreFromEnv(env, logger), inRows);
    }
  }
}
