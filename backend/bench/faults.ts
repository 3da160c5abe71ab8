/**
 * The fault run of `npm run bench`: uploads under an abort storm and under
 * PostgreSQL restarts, by clients that retry with their Idempotency-Key as
 * the apps do. Reports images lost and duplicated (goal 0 each), the
 * backend's peak RSS, and how long the backend took to take uploads again.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Row } from './cost/row.js';
import { baseEnv, formData, spawnBackend, waitFor, waitForQueueSettled, type BackendProcess } from '../test/support/backend.js';
import { createTestDatabase } from '../test/support/database.js';
import { startPrivatePostgres } from '../test/support/private-postgres.js';
import { connect, multipartBody, requestHead, sleep } from '../test/support/raw-http.js';
import { peakRssMb } from './proc.js';

export type FaultRow = Row;

interface Request {
  key: string;
  files: { name: string; data: Buffer }[];
}

/** Sends a request and cuts the connection halfway through its body. */
async function abortHalfway(url: string, r: Request): Promise<void> {
  const body = multipartBody(r.files);
  const conn = await connect(url);
  await conn.write(requestHead(url, '/api/v1/images', body.length, { 'Idempotency-Key': r.key }));
  await conn.write(body.subarray(0, Math.floor(body.length * Math.random())));
  conn.socket.destroy();
  await conn.response;
}

/** Posts until the request gets its 202, always with its key (as the apps retry). */
async function deliver(url: string, r: Request): Promise<number> {
  // The last answer, for the error: which refusal kept it out.
  let last = 'no answer';
  for (let attempt = 1; attempt <= 300; attempt++) {
    try {
      const res = await fetch(`${url}/api/v1/images`, {
        method: 'POST',
        body: formData(r.files),
        headers: { 'idempotency-key': r.key },
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (res.status === 202) return attempt;
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (err) {
      // connection refused or reset: the database or the pod is coming back
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`request ${r.key} never got through in 300 attempts; last answer: ${last}`);
}

/** Lost: files never stored or never completed; duplicated: files stored more than once. */
async function audit(databaseUrl: string, requests: Request[]): Promise<{ lost: number; duplicated: number }> {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  try {
    await waitForQueueSettled(pool, 180_000);
    const { rows } = await pool.query<{ filename: string; n: number; done: number }>(
      "SELECT filename, count(*)::int AS n, count(*) FILTER (WHERE status = 'completed')::int AS done FROM processed_images GROUP BY filename",
    );
    const byName = new Map(rows.map((r) => [r.filename, r]));
    let lost = 0;
    let duplicated = 0;
    for (const f of requests.flatMap((r) => r.files)) {
      const row = byName.get(f.name);
      if (!row || row.done === 0) lost++;
      else if (row.n > 1) duplicated += row.n - 1;
    }
    return { lost, duplicated };
  } finally {
    await pool.end();
  }
}

function makeRequests(files: Buffer[], prefix: string, count: number): Request[] {
  return Array.from({ length: count }, (_, r) => ({
    key: randomUUID(),
    files: [0, 1].map((i) => ({ name: `${prefix}-${r}-${i}.jpg`, data: files[(r * 2 + i) % files.length]! })),
  }));
}

async function abortStorm(files: Buffer[], threads: number): Promise<FaultRow[]> {
  const db = await createTestDatabase('imgfleet_bench_faults');
  const backend = await spawnBackend(
    baseEnv(db.url, { POD_NAME: 'bench-aborts', LOG_LEVEL: 'warn', WORKER_THREADS: String(threads), UPLOAD_IDLE_TIMEOUT_SECONDS: '5' }),
  );
  try {
    const requests = makeRequests(files, 'storm', 24);
    // Eight clients; every request is first cut off halfway, some twice, then retried with its key.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < requests.length) {
          const r = requests[next++]!;
          await abortHalfway(backend.url, r);
          if (Math.random() < 0.5) await abortHalfway(backend.url, r);
          await deliver(backend.url, r);
        }
      }),
    );
    const t0 = performance.now();
    await deliver(backend.url, makeRequests(files, 'after-storm', 1)[0]!);
    const recover = performance.now() - t0;
    const { lost, duplicated } = await audit(db.url, requests);
    return [
      { name: 'abort storm: images lost', value: lost, unit: 'images', target: '0', met: lost === 0 },
      { name: 'abort storm: images duplicated', value: duplicated, unit: 'images', target: '0', met: duplicated === 0 },
      { name: 'abort storm: next upload answered in', value: recover, unit: 'ms' },
      { name: 'abort storm: peak backend RSS', value: await peakRssMb(backend.child.pid!), unit: 'MiB' },
    ];
  } finally {
    backend.child.kill('SIGKILL');
    await db.drop();
  }
}

async function databaseRestarts(files: Buffer[], threads: number): Promise<FaultRow[]> {
  const server = await startPrivatePostgres();
  let backend: BackendProcess | undefined;
  try {
    backend = await spawnBackend(baseEnv(server.url, { POD_NAME: 'bench-restarts', LOG_LEVEL: 'warn', WORKER_THREADS: String(threads), QUEUE_POLL_MS: '300' }));
    const requests = makeRequests(files, 'restart', 18);
    const recoveries: number[] = [];
    const restarts = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(800);
        await server.restart(500);
        const t0 = performance.now();
        await waitFor(async () => (await fetch(`${backend!.url}/readyz`)).status === 200, 30_000, 25);
        recoveries.push(performance.now() - t0);
      }
    })();
    for (const r of requests) await deliver(backend.url, r);
    await restarts;
    const alive = backend.child.exitCode === null;
    const { lost, duplicated } = await audit(server.url, requests);
    const worst = Math.max(...recoveries);
    return [
      { name: 'database restarts: backend stayed up', value: alive ? 1 : 0, unit: 'yes=1', target: '1', met: alive },
      { name: 'database restarts: images lost', value: lost, unit: 'images', target: '0', met: lost === 0 },
      { name: 'database restarts: images duplicated', value: duplicated, unit: 'images', target: '0', met: duplicated === 0 },
      { name: 'database restarts: ready again after (worst)', value: worst, unit: 'ms' },
      { name: 'database restarts: peak backend RSS', value: await peakRssMb(backend.child.pid!), unit: 'MiB' },
    ];
  } finally {
    backend?.child.kill('SIGKILL');
    await server.destroy();
  }
}

export async function faultBench(files: Buffer[], threads: number): Promise<FaultRow[]> {
  return [...(await abortStorm(files, threads)), ...(await databaseRestarts(files, threads))];
}
