/**
 * A pod SIGKILLed between an upload's file landing in the blob store and
 * its row committing (issue 19): no row, the file is an orphan the sweep
 * removes after its grace, and the client's retry with its Idempotency-Key
 * stores the photo once.
 *
 * Stopped exactly there, without a clock: the test holds an ACCESS
 * EXCLUSIVE lock on the queue table, so the upload's INSERT (which comes
 * right after the file's rename) waits on it; the file's arrival is seen
 * by a watch on the store's temporary folder, the INSERT's wait in
 * pg_stat_activity; then the pod is killed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, watch } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, formData, spawnBackend, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { listenToStatuses } from '../support/status-log.js';

/** Resolves with the key of the first blob renamed out of `<blobDir>/.tmp` into its place. */
function firstBlobInPlace(blobDir: string): { key: Promise<string>; close(): void } {
  const tmp = path.join(blobDir, '.tmp');
  const watcher = watch(tmp);
  const key = new Promise<string>((resolve, reject) => {
    watcher.on('error', reject);
    watcher.on('change', (_event, name) => {
      const m = /^([0-9a-f-]{36})\.part$/.exec(String(name));
      if (!m) return;
      const key = `originals/${m[1]!.slice(0, 2)}/${m[1]}`;
      // Seen when the temporary file appears, and again when it is renamed away into its place.
      if (!existsSync(path.join(tmp, String(name))) && existsSync(path.join(blobDir, key))) resolve(key);
    });
  });
  return { key, close: () => watcher.close() };
}

/** Resolves once `file` is gone (watching its folder; no polling). */
async function removed(file: string): Promise<void> {
  const watcher = watch(path.dirname(file));
  try {
    while (existsSync(file)) await once(watcher, 'change');
  } finally {
    watcher.close();
  }
}

describe('a pod SIGKILLed between storing a file and committing its row', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const running: BackendProcess[] = [];
  const spawn = async (extra: Record<string, string> = {}): Promise<BackendProcess> => {
    const proc = await spawnBackend(baseEnv(db.url, { POD_NAME: `kill-commit-${running.length}`, ...extra }));
    running.push(proc);
    return proc;
  };

  before(async () => {
    db = await createTestDatabase('imgfleet_killcommit');
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
  });
  after(async () => {
    for (const proc of running) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await pool?.end();
    await db?.drop();
  });

  it('leaves no row, its file is swept after the grace, and the Idempotency-Key retry stores the photo once', async () => {
    const photo = await makeImage({ width: 800, height: 600, seed: 19 });
    const key = randomUUID();
    const send = (url: string) =>
      fetch(new URL('/api/v1/images', url), { method: 'POST', body: formData([{ name: 'killed.jpg', data: photo }]), headers: { 'idempotency-key': key } });

    const doomed = await spawn();
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    let inPlace: string;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE processed_images IN ACCESS EXCLUSIVE MODE');
      const arrival = firstBlobInPlace(db.blobDir);
      const first = send(doomed.url);
      first.catch(() => undefined);
      try {
        inPlace = await arrival.key;
      } finally {
        arrival.close();
      }
      // The upload's INSERT now waits on the test's lock: the file is in place, its row is not committed.
      await waitFor(async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'imgfleet-upload' AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO processed_images%'`,
          [db.name],
        );
        return rows[0]!.n === 1;
      });
      doomed.child.kill('SIGKILL');
      assert.equal((await doomed.exit).signal, 'SIGKILL');
      await assert.rejects(first, 'the client sees its request cut off');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    // The dead pod's transaction dies with its connection (and with it the key's advisory lock).
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'imgfleet-upload'",
        [db.name],
      );
      return rows[0]!.n === 0;
    });
    assert.equal((await pool.query('SELECT 1 FROM processed_images')).rowCount, 0, 'no row');
    assert.equal((await pool.query('SELECT 1 FROM upload_requests WHERE key = $1', [key])).rowCount, 0, 'the key was not kept');
    const orphan = path.join(db.blobDir, inPlace);
    assert.ok(existsSync(orphan), 'the file is there, named by no row');

    // A pod with a short grace sweeps it (and leaves the folder otherwise clean).
    const sweeping = removed(orphan);
    const sweeper = await spawn({ BLOB_ORPHAN_GRACE_SECONDS: '1', RETENTION_SWEEP_SECONDS: '0.5' });
    await sweeping;
    // The sweep logs it once its run is over (its lines may come after the unlink).
    await waitFor(() => /"orphansRemoved":1,[^\n]*blob sweep removed blobs no row names/.test(sweeper.output()));
    assert.deepEqual(readdirSync(path.join(db.blobDir, '.tmp')), [], 'no temporary file left');
    // Its grace is shorter than an upload may take; the retry goes to a pod with the usual one.
    sweeper.child.kill('SIGTERM');
    await sweeper.exit;

    const backend = await spawn();
    const statuses = await listenToStatuses(db.url);
    try {
      const retry = await send(backend.url);
      assert.equal(retry.status, 202, await retry.clone().text());
      const answer = (await retry.json()) as UploadResponse;
      assert.equal(answer.accepted, 1);
      const id = answer.images[0]!.id;
      const [last] = await statuses.settled([id]);
      assert.equal(last!.status, 'completed');

      // A second retry gets the same answer and stores nothing again.
      const again = await send(backend.url);
      assert.equal(again.status, 202);
      assert.deepEqual(await again.json(), answer);
      const { rows } = await pool.query<{ id: number; original_key: string }>('SELECT id, original_key FROM processed_images');
      assert.deepEqual(
        rows.map((r) => Number(r.id)),
        [id],
        'stored once',
      );
      assert.equal(statuses.completions(id), 1, 'processed once');
      const originals = readdirSync(path.join(db.blobDir, 'originals'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      assert.deepEqual(
        originals.map((e) => e.name),
        [path.basename(rows[0]!.original_key)],
        "one original on the volume: the retry's",
      );
    } finally {
      await statuses.close();
    }
  });
});
