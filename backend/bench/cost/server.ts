/**
 * The server's CPU per photo through the earlier API: real backend
 * processes on a private PostgreSQL, counted per process, per main thread,
 * and for the PostgreSQL server; and PostgreSQL's WAL and growth per photo.
 * The backends keep the photos' bytes in the filesystem blob store (the
 * default since issue 19), so PostgreSQL's share is the queue's state only.
 */
import { rm } from 'node:fs/promises';
import { blobDirFor } from '../../test/support/database.js';
import { baseEnv, spawnBackend, type BackendProcess } from '../../test/support/backend.js';
import { cpuSeconds, processTreeDelta, threadCpuByTid, threadCpuDelta, threadCpuSeconds } from '../proc.js';
import pg from 'pg';
import { cpuDuring, createDatabaseOn, dropDatabaseOn, kindsPerUnit, runSql, selfCpuSeconds, type PostgresCpu } from './cpu.js';
import { legacyBatch, statusPolls } from './legacy-client.js';
import { profileEnv } from './profile.js';

export interface BatchCost {
  photos: number;
  seconds: number;
  polls: number;
  unavailable: number;
  errors: number;
  /** CPU seconds per photo. */
  backendAll: number;
  backendMain: number;
  postgres: number;
  client: number;
  /** Worker-side CPU per photo by thread kind (live threads only). */
  threadKinds: Map<string, number>;
  /** PostgreSQL CPU per photo by process kind, ms (a description). */
  postgresKinds: string;
  /** Autovacuum/autoanalyze runs on processed_images and its TOAST table during the batch. */
  autovacuums: number;
  /** PostgreSQL's footprint per photo, bytes: WAL written, database growth (tables, TOAST, indexes). */
  walBytes: number;
  tableBytes: number;
  /** Blob store traffic per photo, bytes: the original and the result (issue 19: not in PostgreSQL). */
  originalBytes: number;
  processedBytes: number;
}

export interface PollCost {
  backend: number;
  /** PostgreSQL's connection processes only: autovacuum of the batch just stored may run meanwhile. */
  postgres: number;
  postgresAll: number;
}

/** Where PostgreSQL's WAL is and how big the database is: read before and after a batch. */
async function footprint(url: string): Promise<{ lsn: string; databaseBytes: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ lsn: string; size: string }>(
      'SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_database_size(current_database())::text AS size',
    );
    return { lsn: rows[0]!.lsn, databaseBytes: Number(rows[0]!.size) };
  } finally {
    await client.end();
  }
}

/** WAL bytes since `lsn`, and the average stored sizes of the photos the batch named `prefix-…`. */
async function afterBatch(url: string, lsn: string): Promise<{ walBytes: number; original: number; processed: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const wal = await client.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)::text AS d', [lsn]);
    const sizes = await client.query<{ o: string | null; p: string | null }>(
      "SELECT avg(original_bytes)::text AS o, avg(processed_bytes)::text AS p FROM processed_images WHERE filename LIKE 'photo-%'",
    );
    return { walBytes: Number(wal.rows[0]!.d), original: Number(sizes.rows[0]?.o ?? 0), processed: Number(sizes.rows[0]?.p ?? 0) };
  } finally {
    await client.end();
  }
}

/** Autovacuum and autoanalyze runs so far on processed_images and its TOAST table. */
async function autovacuumRuns(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)::int AS n FROM pg_stat_all_tables
        WHERE relid IN (SELECT oid FROM pg_class WHERE relname = 'processed_images' UNION SELECT reltoastrelid FROM pg_class WHERE relname = 'processed_images')`,
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

async function startBackends(
  serverUrl: string,
  database: string,
  n: number,
  threads: number,
  profileDir?: string,
  storeEnv: Record<string, string> = { BLOB_STORE: 'filesystem' },
): Promise<{ url: string; backends: BackendProcess[]; stop: () => Promise<void> }> {
  const url = await createDatabaseOn(serverUrl, database);
  const backends: BackendProcess[] = [];
  const stop = async () => {
    for (const b of backends) b.child.kill('SIGTERM');
    await Promise.all(backends.map((b) => b.exit));
    // Dropped, so that autovacuum of its photos does not run into the next measurement.
    await dropDatabaseOn(serverUrl, database);
    await rm(blobDirFor(url), { recursive: true, force: true });
  };
  try {
    // One at a time: they migrate under an advisory lock anyway.
    for (let i = 0; i < n; i++) {
      backends.push(
        await spawnBackend(
          baseEnv(url, {
            ...storeEnv,
            POD_NAME: `cost-${i}`,
            LOG_LEVEL: 'warn',
            WORKER_THREADS: String(threads),
            QUEUE_POLL_MS: '2000',
            ...profileEnv(profileDir, `${database}-${i}`),
          }),
        ),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, backends, stop };
}

/** Per photo, kinds above half a millisecond, plus what no live thread accounts for. */
function perPhotoKinds(delta: Map<string, number>, all: number, photos: number): Map<string, number> {
  const out = new Map<string, number>();
  let seen = 0;
  for (const [k, v] of delta) {
    seen += v;
    if (v / photos > 0.0005) out.set(k, v / photos);
  }
  out.set('exited threads', (all - seen) / photos);
  return out;
}

/** Which backends exited, with the end of their output: why a batch failed. */
function backendsState(backends: BackendProcess[]): string {
  const dead = backends.filter((b) => b.child.exitCode !== null || b.child.signalCode !== null);
  if (dead.length === 0) return 'every backend still running';
  return dead.map((b) => `backend ${b.url} exited (${b.child.exitCode ?? b.child.signalCode}):\n${b.output().slice(-3000)}`).join('\n');
}

/** `count` photos through `n` backends; the warm-up batch (threads, sharp, connections) is not counted. */
async function measureBatch(
  serverUrl: string,
  dbUrl: string,
  pgCpu: PostgresCpu,
  backends: BackendProcess[],
  files: Buffer[],
  count: number,
  threads: number,
): Promise<BatchCost> {
  const urls = backends.map((b) => b.url);
  const pids = backends.map((b) => b.child.pid!);
  await legacyBatch(urls, files, threads * backends.length, { prefix: 'warm' });
  await runSql(serverUrl, 'CHECKPOINT');
  const kinds0 = threadCpuByTid(pids[0]!);
  const first0 = cpuSeconds(pids[0]!);
  const pgTree0 = pgCpu.read();
  const vacuums0 = await autovacuumRuns(dbUrl);
  const foot0 = await footprint(dbUrl);
  const m = await cpuDuring(
    {
      backendAll: () => pids.reduce((a, p) => a + cpuSeconds(p), 0),
      backendMain: () => pids.reduce((a, p) => a + threadCpuSeconds(p, p), 0),
      postgres: pgCpu,
      client: selfCpuSeconds,
    },
    () =>
      legacyBatch(urls, files, count).catch((err: unknown) => {
        throw new Error(`batch failed; ${backendsState(backends)}`, { cause: err });
      }),
  );
  const pgKinds = kindsPerUnit(processTreeDelta(pgCpu.read(), pgTree0), count);
  const threadKinds = perPhotoKinds(threadCpuDelta(threadCpuByTid(pids[0]!), kinds0), cpuSeconds(pids[0]!) - first0, count / backends.length);
  // The statistics collector publishes with a delay.
  await new Promise((r) => setTimeout(r, 1000));
  const autovacuums = (await autovacuumRuns(dbUrl)) - vacuums0;
  const after = await afterBatch(dbUrl, foot0.lsn);
  const databaseGrowth = (await footprint(dbUrl)).databaseBytes - foot0.databaseBytes;
  if (m.result.failed) throw new Error(`${m.result.failed} of ${count} photos failed`);
  const per = (k: string) => m.cpu[k]! / count;
  return {
    photos: count,
    seconds: m.seconds,
    polls: m.result.polls,
    unavailable: m.result.unavailable,
    errors: m.result.errors,
    backendAll: per('backendAll'),
    backendMain: per('backendMain'),
    postgres: per('postgres'),
    client: per('client'),
    // Thread kinds of the first backend only, per photo it handled.
    threadKinds,
    postgresKinds: pgKinds,
    autovacuums,
    walBytes: after.walBytes / count,
    tableBytes: databaseGrowth / count,
    originalBytes: after.original,
    processedBytes: after.processed,
  };
}

/** The main measurement: one backend, `count` photos, then the per-poll cost on the idle backend. */
export async function singleBackendCost(
  serverUrl: string,
  pgCpu: PostgresCpu,
  files: Buffer[],
  count: number,
  threads: number,
  polls: number,
  profileDir?: string,
): Promise<{ batch: BatchCost; poll: PollCost }> {
  const { url, backends, stop } = await startBackends(serverUrl, 'cost_batch', 1, threads, profileDir);
  try {
    const batch = await measureBatch(serverUrl, url, pgCpu, backends, files, count, threads);
    const b = backends[0]!;
    const done = await fetch(`${b.url}/status/1/json`);
    await done.arrayBuffer();
    const tree0 = pgCpu.read();
    const m = await cpuDuring({ backend: () => cpuSeconds(b.child.pid!), postgresAll: pgCpu }, () => statusPolls(b.url, 1, polls));
    const connections = processTreeDelta(pgCpu.read(), tree0).get('connections') ?? 0;
    return { batch, poll: { backend: m.cpu.backend! / polls, postgres: connections / polls, postgresAll: m.cpu.postgresAll! / polls } };
  } finally {
    await stop();
  }
}

/** Several backends against the one PostgreSQL: its CPU per photo, for the scale projection. */
export async function multiBackendCost(serverUrl: string, pgCpu: PostgresCpu, files: Buffer[], count: number, n: number, threads: number): Promise<BatchCost> {
  const { url, backends, stop } = await startBackends(serverUrl, `cost_scale_${n}`, n, threads);
  try {
    return await measureBatch(serverUrl, url, pgCpu, backends, files, count, threads);
  } finally {
    await stop();
  }
}

/**
 * The main measurement's batch on another blob store (`storeEnv`: the S3
 * store's settings), one backend; `during` is read around the batch alone
 * (the store's own processes: a gateway's CPU).
 */
export async function storeBatchCost(
  serverUrl: string,
  pgCpu: PostgresCpu,
  files: Buffer[],
  count: number,
  threads: number,
  storeEnv: Record<string, string>,
  during: () => number,
): Promise<{ batch: BatchCost; storeSeconds: number }> {
  const { url, backends, stop } = await startBackends(serverUrl, 'cost_store', 1, threads, undefined, storeEnv);
  try {
    const before = during();
    const batch = await measureBatch(serverUrl, url, pgCpu, backends, files, count, threads);
    return { batch, storeSeconds: during() - before };
  } finally {
    await stop();
  }
}
