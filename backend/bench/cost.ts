#!/usr/bin/env node
/**
 * The cost bench of issue 14: where a photo's server CPU goes, against the
 * bare sharp loop on the same files. Everything that touches PostgreSQL runs
 * on a private server, so the PostgreSQL CPU counted is this bench's alone.
 *
 *   cpu/photo   resize, backend main thread, backend other threads, PostgreSQL
 *               (write, read, status polls, the rest), through the earlier API
 *   goals       issue 19's: server CPU / bare CPU (<= 1.3), end-to-end rate / bare
 *               rate (>= 0.5), PostgreSQL WAL (< 200 KB), growth (< 20 KB) and CPU
 *               (< 3 ms) per photo, photos/s per PostgreSQL core (>= 300); and the
 *               floor: a server that only keeps and resizes (cost/floor-server.ts)
 *   projection  the rate each shared resource of a 10-pod cluster allows, the lowest binding
 *   scale       photos per second one PostgreSQL core sustains, 1–3 backends
 *   threads     ResizePool at 2 and 4 threads
 *   toast/wal   the postgres store's cost (BLOB_STORE=postgres): insert cost by
 *               wal_compression, narrow blob table, large objects; lease
 *               renewal on the wide row against a narrow one
 *
 * The backends keep bytes in the filesystem blob store (the default).
 *
 * Run alone: `node backend/dist/bench/cost.js` (writes bench-results/cost.json).
 * Environment: COST_IMAGES (distinct generated photos, default 8),
 * COST_PHOTOS (earlier-API batch, default 80), COST_SCALE_PHOTOS (default 40),
 * WORKER_THREADS (the backends', default 4), COST_PROFILE_DIR (profile the
 * single backend with --cpu-prof there and print its main thread's top functions).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { make12MpJpeg } from '../test/support/images.js';
import { startPrivatePostgres } from '../test/support/private-postgres.js';
import { hostTicks, postgresServerCpu, stealPercent, type PostgresCpu } from './cost/cpu.js';
import { directPostgresCost, type DirectCost } from './cost/postgres-direct.js';
import { bareSharp, CORES, poolResize, type ResizeCost } from './cost/resize.js';
import { floorCost, type FloorCost } from './cost/floor.js';
import { formatRow, type Row } from './cost/row.js';
import { topSelfTime } from './cost/profile.js';
import { multiBackendCost, singleBackendCost, storeBatchCost, type BatchCost, type PollCost } from './cost/server.js';
import { cpuSeconds } from './proc.js';
import { createTestBucket, rgwBackendEnv, startPrivateGateway } from '../test/support/rgw.js';

export type { Row } from './cost/row.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SETTINGS = {
  photos: env('COST_PHOTOS', 80),
  scalePhotos: env('COST_SCALE_PHOTOS', 40),
  resizePhotos: env('COST_RESIZE_PHOTOS', 32),
  directOps: env('COST_DIRECT_OPS', 16),
  polls: env('COST_POLLS', 400),
  renewals: env('COST_RENEWALS', 1000),
  threads: env('WORKER_THREADS', 4),
};

const ms = (seconds: number) => seconds * 1000;
const kib = (bytes: number) => bytes / 1024;

function breakdownRows(bare: ResizeCost, batch: BatchCost, poll: PollCost, direct: DirectCost): Row[] {
  const pollsPerPhoto = batch.polls / batch.photos;
  const pollPg = pollsPerPhoto * poll.postgres;
  const workers = batch.backendAll - batch.backendMain;
  const kinds = [...batch.threadKinds]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${ms(v).toFixed(1)}`)
    .join(', ');
  return [
    { name: 'cpu/photo: resize (bare sharp loop)', value: ms(bare.cpuPerPhoto), unit: 'ms', note: `${bare.rate.toFixed(1)} img/s, ${CORES} pipelines` },
    { name: 'cpu/photo: backend main thread', value: ms(batch.backendMain), unit: 'ms' },
    { name: 'cpu/photo: backend other threads', value: ms(workers), unit: 'ms', note: `by thread, ms: ${kinds}` },
    { name: 'cpu/photo: backend, all threads', value: ms(batch.backendAll), unit: 'ms' },
    {
      name: 'cpu/photo: PostgreSQL, all of it',
      value: ms(batch.postgres),
      unit: 'ms',
      note: `by process, ms: ${batch.postgresKinds}; ${batch.autovacuums} autovacuum/analyze runs`,
    },
    // What BLOB_STORE=postgres would add: the batch itself keeps bytes in the filesystem store.
    {
      name: '  postgres store only: INSERT of the bytes',
      value: ms(direct.insertWide.cpu),
      unit: 'ms',
      note: `not in this batch; ${kib(direct.insertWide.walBytes).toFixed(0)} KiB WAL; ${ms(direct.insertWideFlushed.cpu).toFixed(1)} ms with its checkpoint`,
    },
    { name: '  postgres store only: binary COPY read', value: ms(direct.copyRead.cpu), unit: 'ms', note: 'not in this batch' },
    { name: '  status polls answered, per photo', value: pollsPerPhoto, unit: 'polls', note: 'GET /status/:id/json every 100 ms' },
    {
      name: '  polls answered 503 (no DB connection in 5 s)',
      value: batch.unavailable,
      unit: 'polls',
      note: `of ${batch.polls}; ${batch.errors} connection resets, polled again`,
    },
    { name: '  one poll: PostgreSQL', value: ms(poll.postgres), unit: 'ms', note: `its connections; the whole server ${ms(poll.postgresAll).toFixed(2)} ms` },
    { name: '  one poll: backend', value: ms(poll.backend), unit: 'ms' },
    { name: '  status polling per photo (PostgreSQL + backend)', value: ms(pollsPerPhoto * (poll.postgres + poll.backend)), unit: 'ms' },
    {
      name: '  PostgreSQL rest (insert, claim, result, notify)',
      value: ms(batch.postgres - pollPg),
      unit: 'ms',
      note: 'PostgreSQL all − polls (no bytes: filesystem store)',
    },
    { name: 'cpu/photo: uploading + polling client', value: ms(batch.client), unit: 'ms', note: 'not server CPU; shares the cores here' },
  ];
}

/** Issue 19's goals, each with its target: bytes in the blob store, PostgreSQL for state only. */
/**
 * Issue 25: the same batch through one backend on the S3 store (the test
 * Ceph cluster, a radosgw of its own so that its CPU is this batch's), against
 * the filesystem store's batch. A cluster that cannot start is a missed row
 * saying why, as the bench's other sections.
 */
async function s3StoreRows(serverUrl: string, pgCpu: PostgresCpu, files: Buffer[], fsBatch: BatchCost): Promise<Row[]> {
  let gateway: Awaited<ReturnType<typeof startPrivateGateway>> | undefined;
  let bucket: Awaited<ReturnType<typeof createTestBucket>> | undefined;
  try {
    gateway = await startPrivateGateway();
    bucket = await createTestBucket('cost');
    const pid = gateway.pid;
    if (pid === undefined) throw new Error('the bench gateway is not running');
    const env = rgwBackendEnv(bucket.name, { endpoint: gateway.endpoint });
    const { batch, storeSeconds } = await storeBatchCost(serverUrl, pgCpu, files, SETTINGS.photos, SETTINGS.threads, env, () => cpuSeconds(pid));
    const server = (b: BatchCost) => b.backendAll + b.postgres;
    return [
      {
        name: 'S3: server CPU per photo (backend + PostgreSQL)',
        value: ms(server(batch)),
        unit: 'ms',
        note: `filesystem store: ${ms(server(fsBatch)).toFixed(1)} ms`,
      },
      { name: 'S3: … backend main thread', value: ms(batch.backendMain), unit: 'ms', note: `filesystem store: ${ms(fsBatch.backendMain).toFixed(1)} ms` },
      {
        name: 'S3: radosgw CPU per photo',
        value: ms(storeSeconds / batch.photos),
        unit: 'ms',
        note: "the gateway alone (the OSD and monitor are the shared cluster's)",
      },
      {
        name: 'S3: end-to-end photos/s',
        value: batch.photos / batch.seconds,
        unit: 'img/s',
        note: `filesystem store: ${(fsBatch.photos / fsBatch.seconds).toFixed(1)} img/s; the gateway shares the 2 cores`,
      },
    ];
  } catch (err) {
    return [
      {
        name: 'S3: through a backend',
        value: 0,
        unit: 'ms',
        target: 'runs',
        met: false,
        note: `could not run: ${err instanceof Error ? err.message : String(err)}`,
      },
    ];
  } finally {
    await bucket?.destroy();
    await gateway?.stop();
  }
}

/**
 * The floor server (cost/floor-server.ts): HTTP, the multipart parse, the
 * original and the result written durably and read back, sharp on its own
 * thread; no database, queue or checks. What it costs beyond the bare loop
 * any server keeping the photo pays on this machine, so the goal's 1.3 is
 * read against it too.
 */
function floorRows(bare: ResizeCost, floor: FloorCost, batch: BatchCost): Row[] {
  const server = batch.backendAll + batch.postgres;
  return [
    {
      name: 'floor: a server that only keeps and resizes',
      value: ms(floor.cpuPerPhoto),
      unit: 'ms',
      note: `HTTP, multipart, durable original and result, sharp; ${floor.rate.toFixed(1)} img/s with the same client`,
    },
    { name: '  floor / bare sharp CPU', value: floor.cpuPerPhoto / bare.cpuPerPhoto, unit: 'x', note: 'what any such server pays here over the bare loop' },
    {
      name: '  server CPU per photo / floor',
      value: server / floor.cpuPerPhoto,
      unit: 'x',
      note: "imgfleet's own share: queue, database, checks, threads, events",
    },
  ];
}

function goalRows(bare: ResizeCost, batch: BatchCost, poll: PollCost, pool4: ResizeCost): Row[] {
  const server = (batch.backendAll + batch.postgres) / bare.cpuPerPhoto;
  const rate = batch.photos / batch.seconds / bare.rate;
  const pool = pool4.rate / bare.rate;
  const noPolls = (batch.backendAll + batch.postgres - (batch.polls / batch.photos) * (poll.backend + poll.postgres)) / bare.cpuPerPhoto;
  const perCore = 1 / batch.postgres;
  return [
    {
      name: 'server CPU per photo / bare sharp CPU',
      value: server,
      unit: 'x',
      target: '<= 1.3',
      met: server <= 1.3,
      note: `backend all threads ${ms(batch.backendAll).toFixed(0)} + PostgreSQL ${ms(batch.postgres).toFixed(1)} ms against ${ms(bare.cpuPerPhoto).toFixed(0)} ms`,
    },
    { name: '  … without the status polls', value: noPolls, unit: 'x', note: 'polls × per-poll cost taken out' },
    {
      name: 'end-to-end rate / bare sharp rate',
      value: rate,
      unit: 'x',
      target: '>= 0.5',
      met: rate >= 0.5,
      note: `${(batch.photos / batch.seconds).toFixed(1)} img/s, ${batch.photos} photos, 8 in flight, client on the same cores`,
    },
    {
      name: 'PostgreSQL WAL per photo',
      value: batch.walBytes / 1000,
      unit: 'KB',
      target: '< 200',
      met: batch.walBytes < 200_000,
      note: 'whole server, during the batch',
    },
    {
      name: 'PostgreSQL database growth per photo',
      value: batch.tableBytes / 1000,
      unit: 'KB',
      target: '< 20',
      met: batch.tableBytes < 20_000,
      note: 'pg_database_size: tables, TOAST, indexes',
    },
    {
      name: 'PostgreSQL CPU per photo',
      value: ms(batch.postgres),
      unit: 'ms',
      target: '< 3',
      met: batch.postgres < 0.003,
      note: `by process, ms: ${batch.postgresKinds}`,
    },
    {
      name: 'photos/s one PostgreSQL core sustains',
      value: perCore,
      unit: 'img/s',
      target: '>= 300',
      met: perCore >= 300,
      note: '1 / PostgreSQL CPU per photo',
    },
    { name: 'worker pool (4 threads) / bare sharp rate', value: pool, unit: 'x', target: '>= 0.95', met: pool >= 0.95 },
  ];
}

/** Assumed for the projection: each backend pod and PostgreSQL get this machine's cores; volumes do 125 MB/s (issue 19's). */
const VOLUME_BYTES_PER_SECOND = 125e6;
const PODS = 10;

/**
 * Where a 10-pod cluster saturates: the rate each shared resource allows,
 * from the per-photo figures of the single-backend batch; the lowest binds.
 */
function projectionRows(batch: BatchCost): Row[] {
  const limits: [string, number, string][] = [
    ['backend CPU', (PODS * CORES) / batch.backendAll, `${PODS} pods × ${CORES} cores`],
    ['PostgreSQL CPU', CORES / batch.postgres, `${CORES} cores`],
    ['PostgreSQL disk', VOLUME_BYTES_PER_SECOND / Math.max(1, batch.walBytes + batch.tableBytes), 'WAL + growth at 125 MB/s'],
    // The original written and read once, the result written once (a download reads it again: not counted).
    [
      'blob volume',
      VOLUME_BYTES_PER_SECOND / Math.max(1, 2 * batch.originalBytes + batch.processedBytes),
      'original written and read, result written, at 125 MB/s',
    ],
  ];
  const [bound, rate] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
  return [
    ...limits.map(([name, value, note]): Row => ({ name: `  ${PODS} pods, limit of the ${name}`, value, unit: 'img/s', note })),
    {
      name: `${PODS}-pod cluster saturates at`,
      value: rate,
      unit: 'img/s',
      note: `bound by the ${bound}; photo ${(batch.originalBytes / 2 ** 20).toFixed(1)} MiB, result ${(batch.processedBytes / 1024).toFixed(0)} KiB`,
    },
  ];
}

function scaleRows(runs: { backends: number; batch: BatchCost }[], poll: PollCost): Row[] {
  return runs.flatMap(({ backends, batch }) => [
    {
      name: `scale, ${backends} backend(s): backend CPU per photo`,
      value: ms(batch.backendAll),
      unit: 'ms',
      note: `main threads ${ms(batch.backendMain).toFixed(1)} ms`,
    },
    {
      name: `scale, ${backends} backend(s): PostgreSQL CPU per photo`,
      value: ms(batch.postgres),
      unit: 'ms',
      note: `${(batch.photos / batch.seconds).toFixed(1)} img/s end to end, ${batch.unavailable} of ${batch.polls} polls 503`,
    },
    {
      name: `scale, ${backends} backend(s): photos/s per PostgreSQL core`,
      value: 1 / batch.postgres,
      unit: 'img/s',
      note: `PostgreSQL by process, ms/photo: ${batch.postgresKinds}`,
    },
    {
      name: `scale, ${backends} backend(s): … if clients did not poll`,
      value: 1 / (batch.postgres - (batch.polls / batch.photos) * poll.postgres),
      unit: 'img/s',
      note: `${(batch.polls / batch.photos).toFixed(1)} polls/photo × ${ms(poll.postgres).toFixed(2)} ms taken out`,
    },
  ]);
}

function threadRows(pool2: ResizeCost, pool4: ResizeCost): Row[] {
  return [
    { name: 'ResizePool, 2 threads', value: pool2.rate, unit: 'img/s', note: `${ms(pool2.cpuPerPhoto).toFixed(1)} ms CPU/photo` },
    { name: 'ResizePool, 4 threads', value: pool4.rate, unit: 'img/s', note: `${ms(pool4.cpuPerPhoto).toFixed(1)} ms CPU/photo` },
    { name: 'ResizePool 4 threads / 2 threads (rate)', value: pool4.rate / pool2.rate, unit: 'x', note: `on ${CORES} cores` },
    { name: 'ResizePool 4 threads / 2 threads (CPU/photo)', value: pool4.cpuPerPhoto / pool2.cpuPerPhoto, unit: 'x' },
  ];
}

function toastRows(d: DirectCost): Row[] {
  const op = (name: string, c: { cpu: number; walBytes: number }, note?: string): Row => ({
    name,
    value: ms(c.cpu),
    unit: 'ms',
    note: `${kib(c.walBytes).toFixed(0)} KiB WAL${note ? `; ${note}` : ''}`,
  });
  return [
    op('insert 12 MP original, processed_images row', d.insertWide),
    op('  … counting the CHECKPOINT that writes it out', d.insertWideFlushed),
    ...d.walCompression.map((w) =>
      w.insert
        ? op(`  … wal_compression = ${w.value}`, w.insert)
        : { name: `  … wal_compression = ${w.value}`, value: 0, unit: 'ms', note: 'not accepted by this PostgreSQL' },
    ),
    op('insert into narrow blobs(id, data EXTERNAL)', d.insertNarrow),
    op('insert as a large object (lo_from_bytea)', d.insertLargeObject),
    { name: 'lease renewal UPDATE, wide row (4 ids)', value: ms(d.leaseWide.cpu) * 1000, unit: 'us', note: `${d.leaseWide.walBytes.toFixed(0)} B WAL` },
    {
      name: 'lease renewal UPDATE, narrow leases row (4 ids)',
      value: ms(d.leaseNarrow.cpu) * 1000,
      unit: 'us',
      note: `${d.leaseNarrow.walBytes.toFixed(0)} B WAL`,
    },
  ];
}

/**
 * On a shared virtual machine the same build measures differently from run to
 * run; these say how much: CPU the hypervisor gave to other guests, and how
 * many of the cores the bare loop (every ratio's denominator) kept busy.
 */
function hostRows(bare: ResizeCost, steal: number): Row[] {
  return [
    { name: 'host: CPU stolen by the hypervisor', value: steal, unit: '%', note: 'over the whole cost bench' },
    { name: 'host: cores the bare sharp loop kept busy', value: bare.rate * bare.cpuPerPhoto, unit: 'cores', note: `of ${CORES}` },
  ];
}

/** The whole cost bench on `files` (12 MP JPEGs); `onRow` sees each row as soon as it is known. */
export async function costBench(files: Buffer[], onRow: (row: Row, section: string) => void = () => undefined): Promise<Row[]> {
  const rows: Row[] = [];
  const emit = (section: string, list: Row[]) => {
    for (const r of list) {
      rows.push(r);
      onRow(r, section);
    }
  };
  const host0 = await hostTicks();
  const bare = await bareSharp(files, SETTINGS.resizePhotos);
  const pool2 = await poolResize(files, SETTINGS.resizePhotos, 2);
  const pool4 = await poolResize(files, SETTINGS.resizePhotos, 4);
  emit('worker threads (resize only, this process)', threadRows(pool2, pool4));
  const floor = await floorCost(files, SETTINGS.photos);
  const server = await startPrivatePostgres('cost');
  try {
    const pgCpu = await postgresServerCpu(server.url);
    const direct = await directPostgresCost(server.url, pgCpu, files, SETTINGS.directOps, SETTINGS.renewals);
    emit('postgres store (BLOB_STORE=postgres): PostgreSQL CPU per operation, direct through pg', toastRows(direct));
    const profileDir = process.env.COST_PROFILE_DIR;
    const { batch, poll } = await singleBackendCost(server.url, pgCpu, files, SETTINGS.photos, SETTINGS.threads, SETTINGS.polls, profileDir);
    // Printed, not a row: the profile (warm-up, batch and polls) is for reading.
    if (profileDir) for (const line of await topSelfTime(path.join(profileDir, 'cost_batch-0'))) console.log(`    profile: ${line}`);
    emit(
      `CPU per photo: ${SETTINGS.photos} photos through POST /upload, 8 in flight, 1 backend, ${SETTINGS.threads} threads`,
      breakdownRows(bare, batch, poll, direct),
    );
    emit('goals (issue 19: bytes in the filesystem blob store)', [...goalRows(bare, batch, poll, pool4), ...floorRows(bare, floor, batch)]);
    emit('projection: a 10-pod cluster on one PostgreSQL', projectionRows(batch));
    emit(
      `the S3 store through a backend (issue 25: the same ${SETTINGS.photos} photos, a radosgw of the bench's own)`,
      await s3StoreRows(server.url, pgCpu, files, batch),
    );
    const scale = [{ backends: 1, batch }];
    for (const n of [2, 3]) scale.push({ backends: n, batch: await multiBackendCost(server.url, pgCpu, files, SETTINGS.scalePhotos, n, SETTINGS.threads) });
    emit('scale projection: one PostgreSQL, several backends', scaleRows(scale, poll));
    emit('host (why runs differ)', hostRows(bare, stealPercent(host0, await hostTicks())));
  } finally {
    await server.destroy();
  }
  return rows;
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const distinct = env('COST_IMAGES', 8);
  console.log(`imgfleet cost bench: ${CORES} cores, ${distinct} generated 12 MP JPEGs, settings ${JSON.stringify(SETTINGS)}`);
  const files = await Promise.all(Array.from({ length: distinct }, (_, i) => make12MpJpeg(i + 1)));
  console.log(`  (average file ${(files.reduce((a, f) => a + f.length, 0) / files.length / 2 ** 20).toFixed(2)} MiB)`);
  let section = '';
  const started = Date.now();
  const rows = await costBench(files, (row, s) => {
    if (s !== section) console.log(`\n  ${(section = s)}`);
    console.log(formatRow(row));
  });
  console.log(`\n  (cost bench took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  await mkdir(path.join(root, 'bench-results'), { recursive: true });
  const out = {
    at: new Date().toISOString(),
    machine: { cores: CORES, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    settings: SETTINGS,
    rows,
  };
  await writeFile(path.join(root, 'bench-results', 'cost.json'), `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
