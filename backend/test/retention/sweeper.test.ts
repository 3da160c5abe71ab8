/**
 * The sweep's own guarantees on a real database: bounded work per run, one
 * pod at a time, batches at work never expired.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresBlobStore } from '../../src/blobs/pg-store.js';
import { migrate } from '../../src/db/migrations.js';
import { createLogger } from '../../src/logger.js';
import { RetentionSweeper, type RetentionPolicy } from '../../src/retention/sweeper.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const logger = createLogger('silent', { pod: 'test' });

describe('retention sweeper', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const policy = (over: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
    originalHours: 24,
    batchDays: 7,
    periodMs: 60_000,
    rowsPerStatement: 5,
    maxStatements: 2,
    orphanGraceMs: 3_600_000,
    ...over,
  });

  /** `n` finished images of one batch, uploaded and finished `ageHours` ago. */
  async function insertBatch(n: number, ageHours: number, status = 'completed'): Promise<string> {
    const batchId = randomUUID();
    await pool.query(
      `INSERT INTO processed_images (batch_id, filename, status, original_data, processed_data, original_bytes, processed_bytes, uploaded_at, processed_at)
       SELECT $1, 'f' || g || '.jpg', $3, '\\x0102'::bytea, '\\x0304'::bytea, 2, 2,
              now() - $2 * interval '1 hour', CASE WHEN $3 IN ('completed', 'failed') THEN now() - $2 * interval '1 hour' END
         FROM generate_series(1, $4) g`,
      [batchId, ageHours, status, n],
    );
    return batchId;
  }

  const count = async (where: string, params: unknown[] = []) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM processed_images WHERE ${where}`, params)).rows[0]!.n);

  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    const c = await pool.connect();
    try {
      await migrate(c);
    } finally {
      c.release();
    }
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE TABLE processed_images');
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('drops at most rowsPerStatement × maxStatements originals a run, and says more is due', async () => {
    await insertBatch(12, 30);
    const sweeper = new RetentionSweeper(pool, new PostgresBlobStore(pool), policy({ batchDays: 0 }), logger);
    const first = await sweeper.sweepOnce();
    assert.deepEqual([first.ran, first.originalsDropped, first.capped], [true, 10, true]);
    const second = await sweeper.sweepOnce();
    assert.deepEqual([second.originalsDropped, second.capped], [2, false]);
    assert.equal((await sweeper.sweepOnce()).originalsDropped, 0);
    assert.equal(await count('original_data IS NULL AND original_dropped_at IS NOT NULL AND processed_data IS NOT NULL'), 12);
  });

  it('deletes an expired batch in bounded steps, and counts it once', async () => {
    const old = await insertBatch(12, 8 * 24);
    const young = await insertBatch(3, 6 * 24);
    const sweeper = new RetentionSweeper(pool, new PostgresBlobStore(pool), policy({ originalHours: 0 }), logger);
    const first = await sweeper.sweepOnce();
    assert.deepEqual([first.imagesDeleted, first.batchesDeleted, first.capped], [10, 0, true]);
    const second = await sweeper.sweepOnce();
    assert.deepEqual([second.imagesDeleted, second.batchesDeleted], [2, 1]);
    assert.equal(await count('batch_id = $1', [old]), 0);
    assert.equal(await count('batch_id = $1', [young]), 3);
  });

  it('never expires a batch with an image still queued or processing', async () => {
    const batch = await insertBatch(2, 30 * 24);
    await pool.query(
      `INSERT INTO processed_images (batch_id, filename, status, original_data, original_bytes, uploaded_at) VALUES ($1, 'late.jpg', 'pending', '\\x01', 1, now() - interval '30 days')`,
      [batch],
    );
    const sweeper = new RetentionSweeper(pool, new PostgresBlobStore(pool), policy({ maxStatements: 10 }), logger);
    const result = await sweeper.sweepOnce();
    assert.equal(result.imagesDeleted, 0);
    assert.equal(await count('batch_id = $1', [batch]), 3);
    // Its finished images still lose their originals; the pending one keeps its bytes.
    assert.equal(await count(`batch_id = $1 AND original_data IS NOT NULL`, [batch]), 1);
  });

  it('skips the run while another pod sweeps (the advisory lock), changing nothing', async () => {
    await insertBatch(3, 48);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [0x1f9e_e8]);
      const sweeper = new RetentionSweeper(pool, new PostgresBlobStore(pool), policy(), logger);
      const skipped = await sweeper.sweepOnce();
      assert.deepEqual([skipped.ran, skipped.originalsDropped], [false, 0]);
      assert.equal(await count('original_data IS NOT NULL'), 3);
      await other.query('SELECT pg_advisory_unlock($1)', [0x1f9e_e8]);
      assert.equal((await sweeper.sweepOnce()).originalsDropped, 3);
    } finally {
      await other.end();
    }
  });

  it('with both settings at 0 never starts', async (t) => {
    await insertBatch(2, 10 * 24 * 365);
    const sweeper = new RetentionSweeper(pool, new PostgresBlobStore(pool), policy({ originalHours: 0, batchDays: 0, periodMs: 100 }), logger);
    const swept = new Promise<void>((resolve) => sweeper.onSweep(() => resolve()));
    // The schedule's clock is the subject: its first period passes on fake
    // timers; the run it starts is real, and reports once it has expired what it would.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    sweeper.start();
    t.mock.timers.tick(100);
    t.mock.timers.reset();
    await swept;
    await sweeper.stop();
    assert.equal(await count('original_data IS NOT NULL'), 2);
  });
});
