/** The blob store the configuration names (BLOB_STORE), with the earlier rows' bytes still readable from their columns. */
import type pg from 'pg';
import { blobDir, type Env } from '../config/env.js';
import type { BlobStore } from './blob-store.js';
import { FilesystemBlobStore } from './fs-store.js';
import { PostgresBlobStore } from './pg-store.js';
import { RowFallbackStore } from './row-fallback.js';

export function openBlobStore(env: Env, db: pg.Pool): BlobStore {
  const inRows = new PostgresBlobStore(db);
  switch (env.BLOB_STORE) {
    case 'postgres':
      return inRows;
    case 'filesystem':
      // The default folder under DATA_DIR is made when missing; a configured BLOB_DIR (a volume) must exist.
      return new RowFallbackStore(new FilesystemBlobStore(blobDir(env), { create: env.BLOB_DIR === undefined }), inRows);
    case 's3':
      throw new Error('BLOB_STORE=s3 is not available in this build yet');
  }
}
