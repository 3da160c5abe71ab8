/** The filesystem store: the shared behaviour, and what only a folder can get wrong. */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BlobStoreError, isBlobStoreError } from '../../src/blobs/blob-store.js';
import { FilesystemBlobStore } from '../../src/blobs/fs-store.js';
import { describeBlobStore } from './support/contract.js';

function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `imgfleet-blobs-${label}-`));
}

describeBlobStore('filesystem', async () => {
  const dir = tempDir('contract');
  return { store: new FilesystemBlobStore(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('filesystem store', () => {
  it('creates its default folder, but says a configured one is missing (an unmounted volume)', async () => {
    const parent = tempDir('missing');
    try {
      await new FilesystemBlobStore(path.join(parent, 'default'), { create: true }).check();
      assert.ok(existsSync(path.join(parent, 'default')));
      await assert.rejects(new FilesystemBlobStore(path.join(parent, 'volume')).check(), (err: unknown) => {
        assert.ok(isBlobStoreError(err, 'misconfigured'));
        assert.match(err.message, /does not exist: is the blob volume mounted\?/);
        return true;
      });
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('says a folder it may not write to is misconfigured, naming the folder', async () => {
    const dir = tempDir('readonly');
    try {
      chmodSync(dir, 0o555);
      // As root, permissions do not stop a write: a file where the temporary folder must go does.
      if (process.getuid?.() === 0) writeFileSync(path.join(dir, '.tmp'), 'not a folder');
      await assert.rejects(new FilesystemBlobStore(dir).check(), (err: unknown) => {
        assert.ok(err instanceof BlobStoreError);
        assert.ok(err.message.includes(dir), err.message);
        return true;
      });
    } finally {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never turns a key into a path outside its folder', async () => {
    const dir = tempDir('keys');
    try {
      const store = new FilesystemBlobStore(dir);
      for (const key of ['../../etc/passwd', 'originals/../../x', '/etc/passwd', 'originals/ab/not-a-uuid']) {
        await assert.rejects(store.read({ imageId: 1, kind: 'original', key }), (err: unknown) => isBlobStoreError(err, 'misconfigured'), key);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renames a finished blob into place: nothing of it stays in the temporary folder', async () => {
    const dir = tempDir('rename');
    try {
      const store = new FilesystemBlobStore(dir);
      await store.check();
      const staged = await store.put('original', Buffer.from('photo'));
      assert.deepEqual(readdirSync(path.join(dir, '.tmp')), []);
      assert.ok(existsSync(path.join(dir, staged.key!)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
