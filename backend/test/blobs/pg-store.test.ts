/** The postgres store (BLOB_STORE=postgres): the shared behaviour, and the earlier system's columns. */
import { describe } from 'node:test';
import { PostgresBlobStore } from '../../src/blobs/pg-store.js';
import { describeBlobStore } from './support/contract.js';

describe('postgres store', () => {
  describeBlobStore('postgres', async (db) => ({ store: new PostgresBlobStore(db), cleanup: async () => undefined }));
});
