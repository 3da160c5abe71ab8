/**
 * The "slow readers" row (issue 18, item 3): N slow clients reading one
 * large batch ZIP from a real backend process, and the memory that adds to
 * it (its peak RSS during the downloads less its RSS before them). Each
 * reader has a small receive buffer and reads a few KB every tens of ms.
 *
 * Run alone: `node backend/dist/bench/slow-readers.js` (writes
 * bench-results/slow-readers.json). `slowReadersBench()` returns the rows
 * for `npm run bench`.
 *
 * Environment: BENCH_SLOW_READERS (default 8), BENCH_SLOW_ZIP_MB (default
 * 110: the batch's results, MiB), BENCH_SLOW_READ_MB (default 12: what each
 * reader reads before the peak is taken).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseEnv, spawnBackend } from '../test/support/backend.js';
import { createTestDatabase } from '../test/support/database.js';
import { makeLargeBatch } from '../test/support/large-batch.js';
import { peakRssMb, resetPeakRss, rssMb, slowGet } from '../test/support/slow-reader.js';
import { formatRow, type Row } from './cost/row.js';

const MiB = 1024 * 1024;

export interface SlowReadersResult {
  readers: number;
  zipMiB: number;
  readMiBEach: number;
  rssBeforeMiB: number;
  addedMiB: number;
  seconds: number;
}

export async function measureSlowReaders(readers = 8, zipMiB = 110, readMiB = 12): Promise<SlowReadersResult> {
  const db = await createTestDatabase();
  const backend = await spawnBackend(baseEnv(db.url, { POD_NAME: 'bench-slow-readers', QUEUE_POLL_MS: '200' }));
  try {
    const batch = await makeLargeBatch(backend.url, zipMiB * MiB);
    const pid = backend.child.pid ?? 0;
    const before = rssMb(pid);
    resetPeakRss(pid);
    const started = performance.now();
    const clients = Array.from({ length: readers }, () =>
      slowGet(backend.url, `/api/v1/batches/${batch.batchId}/zip`, { bytesPerTick: 16 * 1024, tickMs: 50 }),
    );
    try {
      await Promise.all(clients.map((c) => c.head));
      await Promise.all(clients.map((c) => c.reached(readMiB * MiB)));
    } finally {
      for (const c of clients) c.close();
    }
    return {
      readers,
      zipMiB: batch.resultBytes / MiB,
      readMiBEach: readMiB,
      rssBeforeMiB: before,
      addedMiB: peakRssMb(pid) - before,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    backend.child.kill('SIGKILL');
    await db.drop();
  }
}

export async function slowReadersBench(): Promise<{ rows: Row[]; result: SlowReadersResult }> {
  const result = await measureSlowReaders(
    Number(process.env.BENCH_SLOW_READERS ?? 8),
    Number(process.env.BENCH_SLOW_ZIP_MB ?? 110),
    Number(process.env.BENCH_SLOW_READ_MB ?? 12),
  );
  const rows: Row[] = [
    {
      name: `slow readers: RSS added by ${result.readers} readers of a ${result.zipMiB.toFixed(0)} MiB ZIP`,
      value: result.addedMiB,
      unit: 'MiB',
      target: '< 150',
      met: result.addedMiB < 150,
      note: `16 KB every 50 ms each, ${result.readMiBEach} MiB read each; RSS before ${result.rssBeforeMiB.toFixed(0)} MiB`,
    },
  ];
  return { rows, result };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { rows, result } = await slowReadersBench();
  for (const row of rows) console.log(formatRow(row));
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  await mkdir(path.join(root, 'bench-results'), { recursive: true });
  await writeFile(path.join(root, 'bench-results', 'slow-readers.json'), `${JSON.stringify({ at: new Date().toISOString(), rows, result }, null, 2)}\n`);
}
