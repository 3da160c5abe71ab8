/** The blob store the configuration names (BLOB_STORE), with the earlier rows' bytes still readable from their columns. */
import type pg from 'pg';
import { blobDir, type Env } from '../config/env.js';
import type { Logger } from '../logger.js';
import type { BlobStore } from './blob-store.js';
import { FilesystemBlobStore } from './fs-store.js';
import { PostgresBlobStore } from './pg-store.js';
import { RowFallbackStore } from './row-fallback.js';
import { s3StoreFromEnv } from './s3-store.js';

export function openBlobStore(env: Env, db: pg.Pool, logger?: Logger): BlobStore {
  const inRows = new PostgresBlobStore(db);
  switch (env.BLOB_STORE) {
    case 'postgres':
      return inRows;
    case 'filesystem':
      // The default folder under DATA_DIR is made when missing; a configured BLOB_DIR (a volume) must exist.
      return new RowFallbackStore(new FilesystemBlobStore(blobDir(env), { create: env.BLOB_DIR === undefined }), inRows);
    case 's3':
      return new RowFallbackStore(s3StoreFromEnv(env, logger), inRows);
  }
}
