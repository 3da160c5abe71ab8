/**
 * Hostile files over HTTP (issue 9, items 6 and 7): memory is bounded by what
 * a decode needs, not by file size; every image has a time limit; damaged
 * JPEGs fail with a reason instead of completing grey or garbled.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { baseEnv, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { blackPng, damagedJpegs } from '../support/hostile-images.js';

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]);
  return kb / 1024;
}

describe('hostile files', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let backend: BackendProcess;
  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    // The tightest time limits the settings allow: 0.5 s for any image plus its estimated work, no slack.
    backend = await spawnBackend(
      baseEnv(db.url, { POD_NAME: 'hostile', IMAGE_TIMEOUT_SECONDS: '0.5', IMAGE_TIME_SLACK: '1', MAX_ATTEMPTS: '2', LEASE_SECONDS: '5' }),
    );
  });
  after(async () => {
    backend.child.kill('SIGKILL');
    await pool.end();
    await db.drop();
  });

  async function settled(ids: number[]): Promise<{ id: number; status: string; error_code: string | null; error: string | null }[]> {
    return waitFor(
      async () => {
        const { rows } = await pool.query<{ id: number; status: string; error_code: string | null; error: string | null }>(
          'SELECT id, status, error_code, error FROM processed_images WHERE id = ANY($1::bigint[]) ORDER BY id',
          [ids],
        );
        return rows.length === ids.length && rows.every((r) => r.status === 'completed' || r.status === 'failed') ? rows : null;
      },
      120_000,
      200,
    );
  }

  it('four interlaced 16-bit RGBA 10000x10000 PNGs keep the backend under 1 GiB', async () => {
    const bomb = await blackPng({ width: 10000, height: 10000, bitDepth: 16, channels: 4, interlaced: true });
    assert.ok(bomb.length < 2 * 1024 * 1024, `the file is small (${bomb.length} bytes)`);
    const res = await upload(
      backend.url,
      [0, 1, 2, 3].map((i) => ({ name: `bomb-${i}.png`, data: bomb, type: 'image/png' })),
    );
    assert.equal(res.status, 202);
    const { images } = (await res.json()) as UploadResponse;
    const rows = await settled(images.map((i) => i.id));
    for (const r of rows) {
      assert.equal(r.status, 'failed');
      assert.ok(r.error && /memory|MiB/i.test(r.error), `a clear reason: ${r.error}`);
    }
    const peak = peakRssMiB(backend.child.pid!);
    assert.ok(peak < 1024, `peak RSS ${peak.toFixed(0)} MiB`);
  });

  // A limit that grows with the work (imaging/job-cost.ts) must still catch
  // work that runs far past what its size promises. A 1-pixel-wide PNG of
  // forty million rows is such work: libvips pays per row, and its rows cost
  // several times what the cost model expects of their pixels (about 0.9 s
  // of estimated work; 5 s on a quiet machine, more under load). Both sides
  // scale with the machine's measured speed, so the ratio, not the machine,
  // decides the outcome.
  it('a 1x40,000,000 PNG runs past its time limit (0.5 s plus its estimated work) and fails with that reason', async () => {
    const tall = await blackPng({ width: 1, height: 40_000_000, bitDepth: 8, channels: 3, interlaced: false });
    const res = await upload(backend.url, [{ name: 'tall.png', data: tall, type: 'image/png' }]);
    assert.equal(res.status, 202);
    const { images } = (await res.json()) as UploadResponse;
    const [row] = await settled([images[0]!.id]);
    assert.equal(row!.status, 'failed', `the job ran past its limit, or finished within it: ${row!.error ?? 'completed'}`);
    assert.match(row!.error_code ?? '', /TIMEOUT/);
    assert.match(row!.error ?? '', /0\.5 s for any image plus its work/);
    assert.equal(backend.child.exitCode, null);
  });

  it('damaged JPEGs fail with a reason', async () => {
    const files = await damagedJpegs();
    const res = await upload(backend.url, files);
    assert.equal(res.status, 202);
    const { images } = (await res.json()) as UploadResponse;
    const rows = await settled(images.map((i) => i.id));
    for (const [i, r] of rows.entries()) {
      assert.equal(r.status, 'failed', `${files[i]!.name} must not be marked completed`);
      assert.ok(r.error && r.error.length > 10, `${files[i]!.name}: ${r.error}`);
    }
  });
});
