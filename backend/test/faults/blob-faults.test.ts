/**
 * The filesystem blob store's faults, through a whole backend process (real
 * HTTP, real PostgreSQL, real files; issue 19's "Faults, each tested"):
 *
 * - the blob volume missing or read-only at start: the pod stays up, not
 *   ready, with a reason naming the folder; it turns ready once the volume is;
 * - an original deleted behind the backend's back: that image fails with
 *   ORIGINAL_MISSING, the rest of its batch completes, nothing crashes;
 * - the blob volume full: uploads answer 507 STORAGE_FULL and keep nothing,
 *   queued images whose results cannot be written wait, and the same pod
 *   completes them and takes uploads again once space returns.
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

  it('fails an image whose original was deleted behind its back with ORIGINAL_MISSING, and completes the rest of its batch', async () => {
    // An earlier pod stored a batch of four and stopped before processing it (its rows pending, its files in BLOB_DIR).
    const first = await spawn({});
    first.child.kill('SIGTERM');
    await first.exit;
    const batchId = randomUUID();
    const ids: number[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const photo = await makeImage({ width: 640, height: 480, seed: 40 + i });
      const uuid = randomUUID();
      const key = `originals/${uuid.slice(0, 2)}/${uuid}`;
      mkdirSync(path.join(db.blobDir, path.dirname(key)), { recursive: true });
      await writeFile(path.join(db.blobDir, key), photo);
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO processed_images (batch_id, filename, content_type, original_key, original_bytes, original_width, original_height, status)
         VALUES ($1, $2, 'image/jpeg', $3, $4, 640, 480, 'pending') RETURNING id`,
        [batchId, `photo-${i}.jpg`, key, photo.length],
      );
      ids.push(Number(rows[0]!.id));
      keys.push(key);
    }
    // Someone cleans the volume by hand: the second photo's original is gone.
    rmSync(path.join(db.blobDir, keys[1]!));

    const statuses = await listenToStatuses(db.url);
    try {
      const backend = await spawn({});
      const last = await statuses.settled(ids);
      assert.deepEqual(
        last.map((e: StatusEvent) => e.status),
        ['completed', 'failed', 'completed', 'completed'],
      );
      const { rows } = await pool.query<{ id: number; status: string; error: string | null; error_code: string | null }>(
        'SELECT id, status, error, error_code FROM processed_images WHERE batch_id = $1 ORDER BY id',
        [batchId],
      );
      const gone = rows[1]!;
      assert.equal(gone.error_code, 'ORIGINAL_MISSING');
      assert.match(gone.error ?? '', /missing from the blob store.*upload it again/);
      for (const i of [0, 2, 3]) assert.equal(statuses.completions(ids[i]!), 1, `photo-${i} completed once`);
      // The API tells the same, and the pod serves on.
      const view = (await (await fetch(new URL(`/api/v1/images/${gone.id}`, backend.url))).json()) as { status: string; errorCode?: string; error?: string };
      assert.equal(view.status, 'failed');
      assert.equal((await readyz(backend.url)).status, 200);
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
      await pool.query('DELETE FROM processed_images');
    }
  });

  it('answers 507 STORAGE_FULL on a full blob volume and keeps nothing; queued images wait; all recover once space returns', async () => {
    const volume = mountTmpfs('blobfull', '16m');
    mounts.push(volume);
    const backend = await spawn({ BLOB_DIR: volume });
    const photo = await makeImage({ width: 1600, height: 1200, seed: 7, grain: 8 });

    // Two originals an earlier pod stored, not yet processed (their rows come once the volume is full).
    const queuedKeys = [randomUUID(), randomUUID()].map((uuid) => `originals/${uuid.slice(0, 2)}/${uuid}`);
    for (const key of queuedKeys) {
      mkdirSync(path.join(volume, path.dirname(key)), { recursive: true });
      writeFileSync(path.join(volume, key), photo);
    }
    // Fill the volume to its last byte with a file of the operator's.
    const filler = path.join(volume, 'filler');
    let filled = 0;
    for (const chunk of [1024 * 1024, 4096, 1]) {
      for (;;) {
        try {
          writeFileSync(filler, Buffer.alloc(chunk, 1), { flag: 'a' });
          filled += chunk;
        } catch (err) {
          assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', String(err));
          break;
        }
      }
    }
    assert.ok(filled > 8 * 1024 * 1024, `the filler took the volume (${filled} bytes)`);
    const before = filesUnder(volume);

    const res = await upload(backend.url, [{ name: 'while-full.jpg', data: photo }]);
    assert.equal(res.status, 507, await res.clone().text());
    const body = (await res.json()) as { code: string; error: string; stored: number };
    assert.equal(body.code, 'STORAGE_FULL');
    assert.ok(body.error.includes(volume), body.error);
    assert.match(body.error, /no space left/);
    assert.equal(body.stored, 0);
    assert.ok(res.headers.get('retry-after'));
    assert.equal(await rowCount(), 0);
    assert.deepEqual(filesUnder(volume), before, 'no temporary file or original was left behind');

    const statuses = await listenToStatuses(db.url);
    try {
      // The queued images are taken now: their results cannot be written, so they wait (retrying), none fails.
      const batchId = randomUUID();
      const queued: number[] = [];
      for (const [i, key] of queuedKeys.entries()) {
        const { rows } = await pool.query<{ id: number }>(
          `INSERT INTO processed_images (batch_id, filename, content_type, original_key, original_bytes, original_width, original_height, status)
           VALUES ($1, $2, 'image/jpeg', $3, $4, 1600, 1200, 'pending') RETURNING id`,
          [batchId, `queued-${i}.jpg`, key, photo.length],
        );
        queued.push(Number(rows[0]!.id));
      }
      await pool.query("SELECT pg_notify('imgfleet_work', '')");
      await waitFor(() => backend.output().includes('processing from the blob store failed; retrying') || statuses.events.some((e) => e.status === 'failed'));
      assert.deepEqual(
        statuses.events.filter((e) => e.status === 'failed'),
        [],
        'no image failed for the full volume',
      );

      // Space returns: the same pod completes them and takes the upload again.
      rmSync(filler);
      const again = await upload(backend.url, [{ name: 'after-space.jpg', data: photo }]);
      assert.equal(again.status, 202, await again.clone().text());
      const [image] = ((await again.json()) as { images: { id: number }[] }).images;
      const ids = [...queued, image!.id];
      const last = await statuses.settled(ids);
      assert.deepEqual(
        last.map((e) => e.status),
        ['completed', 'completed', 'completed'],
      );
      for (const id of ids) assert.equal(statuses.completions(id), 1, `image ${id} completed once`);
      const files = filesUnder(volume);
      assert.equal(files.filter((f) => f.startsWith('originals/') || f.startsWith('results/')).length, 6);
      assert.deepEqual(
        files.filter((f) => f.startsWith('.tmp/')),
        [],
        'no partial result left behind',
      );
      assert.equal(backend.child.exitCode, null, 'the process never exited');
    } finally {
      await statuses.close();
      await pool.query('DELETE FROM processed_images');
    }
  });
});
