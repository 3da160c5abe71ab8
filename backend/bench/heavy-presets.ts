/**
 * The heavy presets of issue 18: one batch each of AVIF, PNG and WebP at
 * the 3840x2160 preset, fit cover + position attention, from a ~6000x3400
 * photo, 4 photos per batch, through a real backend process on the
 * defaults (WORKER_THREADS 4, default time and memory limits). For each:
 * seconds from upload to the last image settled, and the backend's peak
 * RSS during that batch (VmHWM, reset before it), against the 1 GiB a pod
 * gets in k8s/.
 *
 * Completion is seen on the status notifications themselves
 * (test/support/status-log.ts), not by polling.
 */
import { performance } from 'node:perf_hooks';
import type { UploadResponse } from '../src/contract/api.js';
import { baseEnv, spawnBackend } from '../test/support/backend.js';
import { createTestDatabase } from '../test/support/database.js';
import { makeImage } from '../test/support/images.js';
import { peakRssMb, resetPeakRss } from '../test/support/slow-reader.js';
import { listenToStatuses } from '../test/support/status-log.js';
import type { Row } from './cost/row.js';

const PHOTOS = 4;
const POD_LIMIT_MIB = 1024;
const FORMATS = ['avif', 'png', 'webp'] as const;

export async function heavyPresetsBench(onRow: (row: Row) => void = () => undefined): Promise<Row[]> {
  const rows: Row[] = [];
  const emit = (row: Row) => {
    rows.push(row);
    onRow(row);
  };
  // The issue's photo size (6028x3391 there); grain makes it a real photo's ~6 MB.
  const photo = await makeImage({ width: 6000, height: 3400, grain: 12, quality: 92 });
  const db = await createTestDatabase('imgfleet_bench_heavy');
  const log = await listenToStatuses(db.url);
  // The defaults as deployed, but for the thread count the issue names.
  const backend = await spawnBackend(baseEnv(db.url, { POD_NAME: 'bench-heavy', LOG_LEVEL: 'warn', WORKER_THREADS: '4' }), 60_000);
  const pid = backend.child.pid ?? 0;
  const died = backend.exit.then(({ code, signal }) => {
    throw new Error(`the backend died (${signal ?? code}): ${backend.output().slice(-500)}`);
  });
  died.catch(() => undefined);
  try {
    for (const format of FORMATS) {
      const options = { format, width: 3840, height: 2160, fit: 'cover', position: 'attention' };
      const form = new FormData();
      form.append('options', JSON.stringify(options));
      for (let i = 0; i < PHOTOS; i++) form.append('images', new Blob([photo], { type: 'image/jpeg' }), `heavy-${format}-${i}.jpg`);
      resetPeakRss(pid);
      const started = performance.now();
      const res = await fetch(new URL('/api/v1/images', backend.url), { method: 'POST', body: form });
      if (res.status !== 202) throw new Error(`upload of the ${format} batch answered ${res.status}: ${await res.text()}`);
      const ids = ((await res.json()) as UploadResponse).images.map((im) => im.id);
      const settled = await Promise.race([log.settled(ids), died]);
      const seconds = (performance.now() - started) / 1000;
      const peak = peakRssMb(pid);
      const done = settled.filter((s) => s.status === 'completed' && s.width === 3840 && s.height === 2160).length;
      const failures = [...new Set(settled.filter((s) => s.status !== 'completed').map((s) => `${s.errorCode ?? ''} ${s.error ?? ''}`.trim()))];
      const label = `heavy ${format.toUpperCase()} 3840x2160 cover+attention`;
      emit({
        name: `${label}: ${PHOTOS}-photo batch`,
        value: seconds,
        unit: 's',
        target: `${PHOTOS}/${PHOTOS} done`,
        met: done === PHOTOS,
        note: `${done}/${PHOTOS} completed at 3840x2160${failures.length ? `; ${failures.join('; ')}` : ''}; ${(seconds / PHOTOS).toFixed(1)} s/photo`,
      });
      emit({
        name: `${label}: peak backend RSS`,
        value: peak,
        unit: 'MiB',
        target: `< ${POD_LIMIT_MIB}`,
        met: peak < POD_LIMIT_MIB,
        note: 'VmHWM during this batch',
      });
    }
  } finally {
    backend.child.kill('SIGTERM');
    await backend.exit;
    await log.close();
    await db.drop();
  }
  return rows;
}
