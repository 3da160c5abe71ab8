/**
 * The server's CPU per photo through the earlier API: real backend
 * processes on a private PostgreSQL, counted per process, per main thread,
 * and for the PostgreSQL server.
 */
import { baseEnv, spawnBackend, type BackendProcess } from '../../test/support/backend.js';
import { cpuSeconds, threadCpuByName, threadCpuSeconds } from '../proc.js';
import { cpuDuring, createDatabaseOn, runSql, selfCpuSeconds } from './cpu.js';
import { legacyBatch, statusPolls } from './legacy-client.js';

export interface BatchCost {
  photos: number;
  seconds: number;
  polls: number;
  /** CPU seconds per photo. */
  backendAll: number;
  backendMain: number;
  postgres: number;
  client: number;
  /** Worker-side CPU per photo by thread kind (live threads only). */
  threadKinds: Map<string, number>;
}

export interface PollCost {
  backend: number;
  postgres: number;
}

async function startBackends(serverUrl: string, database: string, n: number, threads: number): Promise<{ backends: BackendProcess[]; stop(): Promise<void> }> {
  const url = await createDatabaseOn(serverUrl, database);
  const backends: BackendProcess[] = [];
  const stop = async () => {
    for (const b of backends) b.child.kill('SIGTERM');
    await Promise.all(backends.map((b) => b.exit));
  };
  try {
    // One at a time: they migrate under an advisory lock anyway.
    for (let i = 0; i < n; i++) {
      backends.push(await spawnBackend(baseEnv(url, { POD_NAME: `cost-${i}`, LOG_LEVEL: 'warn', WORKER_THREADS: String(threads), QUEUE_POLL_MS: '2000' })));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { backends, stop };
}

function diffKinds(after: Map<string, number>, before: Map<string, number>, photos: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = (v - (before.get(k) ?? 0)) / photos;
    if (d > 0.0005) out.set(k, d);
  }
  return out;
}

/** `count` photos through `n` backends; the warm-up batch (threads, sharp, connections) is not counted. */
async function measureBatch(serverUrl: string, pgCpu: () => number, backends: BackendProcess[], files: Buffer[], count: number, threads: number): Promise<BatchCost> {
  const urls = backends.map((b) => b.url);
  const pids = backends.map((b) => b.child.pid!);
  await legacyBatch(urls, files, threads * backends.length, { prefix: 'warm' });
  await runSql(serverUrl, 'CHECKPOINT');
  const kinds0 = threadCpuByName(pids[0]!);
  const m = await cpuDuring(
    {
      backendAll: () => pids.reduce((a, p) => a + cpuSeconds(p), 0),
      backendMain: () => pids.reduce((a, p) => a + threadCpuSeconds(p, p), 0),
      postgres: pgCpu,
      client: selfCpuSeconds,
    },
    () => legacyBatch(urls, files, count),
  );
  if (m.result.failed) throw new Error(`${m.result.failed} of ${count} photos failed`);
  const per = (k: string) => m.cpu[k]! / count;
  return {
    photos: count,
    seconds: m.seconds,
    polls: m.result.polls,
    backendAll: per('backendAll'),
    backendMain: per('backendMain'),
    postgres: per('postgres'),
    client: per('client'),
    // Thread kinds of the first backend only, per photo it handled.
    threadKinds: diffKinds(threadCpuByName(pids[0]!), kinds0, count / backends.length),
  };
}

/** The main measurement: one backend, `count` photos, then the per-poll cost on the idle backend. */
export async function singleBackendCost(serverUrl: string, pgCpu: () => number, files: Buffer[], count: number, threads: number, polls: number): Promise<{ batch: BatchCost; poll: PollCost }> {
  const { backends, stop } = await startBackends(serverUrl, 'cost_batch', 1, threads);
  try {
    const batch = await measureBatch(serverUrl, pgCpu, backends, files, count, threads);
    const b = backends[0]!;
    const done = await fetch(`${b.url}/status/1/json`);
    await done.arrayBuffer();
    const m = await cpuDuring({ backend: () => cpuSeconds(b.child.pid!), postgres: pgCpu }, () => statusPolls(b.url, 1, polls));
    return { batch, poll: { backend: m.cpu.backend! / polls, postgres: m.cpu.postgres! / polls } };
  } finally {
    await stop();
  }
}

/** Several backends against the one PostgreSQL: its CPU per photo, for the scale projection. */
export async function multiBackendCost(serverUrl: string, pgCpu: () => number, files: Buffer[], count: number, n: number, threads: number): Promise<BatchCost> {
  const { backends, stop } = await startBackends(serverUrl, `cost_scale_${n}`, n, threads);
  try {
    return await measureBatch(serverUrl, pgCpu, backends, files, count, threads);
  } finally {
    await stop();
  }
}
