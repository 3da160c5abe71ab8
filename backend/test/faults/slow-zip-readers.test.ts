/**
 * Eight slow clients reading one large batch ZIP (issue 18, item 3): the
 * backend reads each entry only as the socket drains, so its memory does
 * not grow with the batch. (archiver took entries as fast as the database
 * gave them, and the pod went from 289 to 1,355 MiB.) The backend is a
 * child process, so its memory is its own; the peak is read from Linux.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { baseEnv, spawnBackend, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeLargeBatch, type LargeBatch } from '../support/large-batch.js';
import { peakRssMb, resetPeakRss, rssMb, slowGet } from '../support/slow-reader.js';

const MiB = 1024 * 1024;

describe('slow readers of a large ZIP', () => {
  let db: TestDatabase;
  let b: BackendProcess;
  let batch: LargeBatch;
  before(async () => {
    db = await createTestDatabase();
    b = await spawnBackend(baseEnv(db.url, { POD_NAME: 'slow-zip', QUEUE_POLL_MS: '200' }));
    batch = await makeLargeBatch(b.url, 110 * MiB);
  });
  after(async () => {
    b?.child.kill('SIGKILL');
    await db?.drop();
  });

  it('eight slow readers add less than 150 MiB to the backend, whatever the batch size', async (t) => {
    const pid = b.child.pid ?? 0;
    assert.ok(batch.resultBytes > 100 * MiB, `the batch holds ${(batch.resultBytes / MiB).toFixed(0)} MiB`);
    // The batch was made by this process's worker threads: measure from here on.
    const before = rssMb(pid);
    resetPeakRss(pid);
    // 16 KB every 50 ms: 320 KB/s each, far slower than the database and the disk deliver.
    const readers = Array.from({ length: 8 }, () => slowGet(b.url, `/api/v1/batches/${batch.batchId}/zip`, { bytesPerTick: 16 * 1024, tickMs: 50 }));
    try {
      for (const r of readers) {
        const head = await r.head;
        assert.equal(head.status, 200);
        assert.ok(Number(head.headers['content-length']) > batch.resultBytes, 'the ZIP announces its whole size');
      }
      // Each reader goes past its first entries (several MiB), at its slow pace.
      await Promise.all(readers.map((r) => r.reached(12 * MiB)));
      const added = peakRssMb(pid) - before;
      t.diagnostic(
        `batch ${(batch.resultBytes / MiB).toFixed(0)} MiB; backend RSS ${before.toFixed(0)} MiB before, peak +${added.toFixed(0)} MiB with 8 slow readers`,
      );
      assert.ok(added < 150, `eight slow readers added ${added.toFixed(0)} MiB (from ${before.toFixed(0)} MiB)`);
    } finally {
      for (const r of readers) r.close();
    }
  });
});
