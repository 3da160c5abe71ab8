/**
 * The cluster simulation: the Kubernetes deployment's behaviour, without a cluster.
 *
 * Three backend processes (pod-a, pod-b, pod-c, as the Deployment's replicas)
 * and one function-runtime process (the runtime Deployment, with the bundled
 * Python handler) share one throw-away Postgres database and one private
 * redis-server, configured the way k8s/ configures them (REDIS_HOST/PORT,
 * FUNCTION_OUTPUT_KEY=metrics-derived, REDIS_INPUT_KEY='metrics:*',
 * HANDLER_FUNCTION=usermodule.handler), only with short periods.
 *
 * A batch is spread across the three pods; pod-b is killed with SIGKILL while
 * it holds images. Then:
 * - every image completes exactly once, the ones pod-b held taken over by a
 *   live pod on their second attempt once pod-b's leases expire;
 * - pod-b's metrics key expires while the live pods keep publishing, and the
 *   API lists exactly the live pods;
 * - the runtime keeps deriving figures for each live pod, and the API serves them.
 *
 * The redis-server is private (not the machine's shared one) because the keys
 * are the production names, `metrics:<pod>` and `metrics-derived:<pod>`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import type { MetricsResponse } from '../../src/metrics/index.js';
import type { StatsRecord } from '@imgfleet/runtime';
import { freePort, PrivateRedis } from '../metrics/helpers.js';
import { baseEnv, getJson, spawnBackend, upload, waitFor, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { listenToStatuses, type StatusLog } from '../support/status-log.js';

/** The runtime workspace, backend/runtime/, found as the backend finds its package. */
const RUNTIME_DIR = path.dirname(fileURLToPath(import.meta.resolve('@imgfleet/runtime/package.json')));
const RUNTIME_JS = path.join(RUNTIME_DIR, 'dist/src/main.js');
/** The bundled default handler, backend/runtime/functions/usermodule.py (source, not compiled). */
const USERMODULE_PY = path.join(RUNTIME_DIR, 'functions/usermodule.py');

const PODS = ['pod-a', 'pod-b', 'pod-c'] as const;
type Pod = (typeof PODS)[number];
const LIVE: readonly Pod[] = ['pod-a', 'pod-c'];
const VICTIM: Pod = 'pod-b';
const PER_POD = 20;
const TOTAL = PER_POD * PODS.length;
const LEASE_SECONDS = 3;
const PERIOD_SECONDS = 0.5;
/** Keys live three periods (metrics hub), so a dead pod's key is gone this long after its last publish. */
const KEY_LIFETIME_MS = 3 * PERIOD_SECONDS * 1000;
/** Slack for a loaded 2-core machine; the behaviour bounds above are what is being checked. */
const MARGIN_MS = 5_000;
const OUTPUT_KEY = 'metrics-derived';
const DERIVED_FIELDS = ['percentage_memory_caching', 'percentage_outgoing_bytes', 'moving_average_cpu_percent-0'] as const;
/** Per test: generous, for a machine shared with other engineers' test runs. */
const TEST_TIMEOUT = 180_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Any child this test started: a backend (spawnBackend) or the runtime. */
interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
  exit: Promise<Exit>;
}

/** Starts `node backend/runtime/dist/src/main.js`; resolves once it logs that it started. */
async function spawnRuntime(env: NodeJS.ProcessEnv, started: Running[], timeoutMs = 30_000): Promise<Running> {
  const child = spawn(process.execPath, [RUNTIME_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const proc: Running = { name: 'runtime', child, output: () => out, exit };
  // Tracked at once, so `after` stops it even if it never becomes ready.
  started.push(proc);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the runtime did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('function runtime started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the runtime exited (${code ?? signal}) before it started:\n${out}`));
    });
  });
  return proc;
}

/** SIGTERM (waking it first, in case it is frozen), then SIGKILL after `graceMs`. */
async function stopProcess(proc: Running, graceMs: number): Promise<Exit> {
  const { child } = proc;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await proc.exit;
    } finally {
      clearTimeout(timer);
    }
  }
  return proc.exit;
}

function hasDerivedFigures(derived: unknown): boolean {
  if (derived === null || typeof derived !== 'object') return false;
  const figures = derived as Record<string, unknown>;
  return DERIVED_FIELDS.every((f) => typeof figures[f] === 'number' && Number.isFinite(figures[f]));
}

function assertDerivedFigures(derived: unknown, what: string): void {
  assert.ok(hasDerivedFigures(derived), `${what} has ${DERIVED_FIELDS.join(', ')}: ${JSON.stringify(derived)}`);
  const figures = derived as Record<string, number>;
  for (const f of DERIVED_FIELDS) {
    assert.ok(figures[f]! >= 0 && figures[f]! <= 100, `${what}: ${f}=${figures[f]} is a percentage`);
  }
}

describe('cluster simulation: three backend pods and the function runtime on one Postgres and one Redis', () => {
  let db: TestDatabase | undefined;
  let redisServer: PrivateRedis | undefined;
  let redis: Redis | undefined;
  let sql: pg.Pool | undefined;
  let log: StatusLog | undefined;
  let jpegs: Buffer[] = [];
  const started: Running[] = [];
  const pods = new Map<Pod, BackendProcess>();
  let runtime: Running | undefined;

  // Shared between the steps below (each `it` builds on the one before).
  let batchIds: number[] = [];
  let killedAt = 0;
  let ttlAtKillMs = Number.NaN;
  let victimKeyGone: Promise<number | null> | undefined;

  const pod = (name: Pod): BackendProcess => {
    const p = pods.get(name);
    assert.ok(p, `${name} is running (an earlier step failed?)`);
    return p;
  };
  const r = (): Redis => redis!;
  const q = (): pg.Pool => sql!;

  const heldBy = async (name: Pod): Promise<number[]> =>
    (await q().query<{ id: string }>(`SELECT id FROM processed_images WHERE status = 'processing' AND worker_id LIKE $1 ORDER BY id`, [`${name}/%`])).rows.map(
      (row) => Number(row.id),
    );

  const snapshotTimes = async (names: readonly Pod[]): Promise<(string | null)[]> =>
    (await r().mget(...names.map((n) => `metrics:${n}`))).map((text) => (text === null ? null : (JSON.parse(text) as { timestamp: string }).timestamp));

  const runtimeStats = async (name: Pod): Promise<StatsRecord | null> => {
    const text = await r().get(`${OUTPUT_KEY}:${name}:stats`);
    return text === null ? null : (JSON.parse(text) as StatsRecord);
  };

  const clusterView = async (from: Pod): Promise<MetricsResponse> => {
    const { status, body } = await getJson<MetricsResponse>(`${pod(from).url}/api/v1/metrics`);
    assert.equal(status, 200);
    return body;
  };

  before(async () => {
    db = await createTestDatabase('imgfleet_cluster');
    redisServer = new PrivateRedis(await freePort());
    await redisServer.start();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    sql = new pg.Pool({ connectionString: db.url, max: 3 });
    // A dozen distinct photo-like 1600x1200 JPEGs (~350 KB each), reused round the batch.
    jpegs = await Promise.all(Array.from({ length: 12 }, (_, i) => makeImage({ width: 1600, height: 1200, seed: 101 + i, grain: 8, quality: 90 })));
  });

  after(async () => {
    const results = await Promise.allSettled([...started.map((p) => stopProcess(p, 10_000)), log?.close(), sql?.end()]);
    redis?.disconnect();
    await Promise.allSettled([db?.drop(), redisServer?.dispose()]);
    for (const result of results) if (result.status === 'rejected') console.error('cleanup:', result.reason);
  });

  it('the three pods and the runtime come up; every pod publishes metrics and the runtime derives figures for each', { timeout: TEST_TIMEOUT }, async () => {
    const podEnv = (name: Pod) =>
      baseEnv(db!.url, {
        POD_NAME: name,
        WORKER_THREADS: '2',
        LEASE_SECONDS: String(LEASE_SECONDS),
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(redisServer!.port),
        METRICS_PERIOD: String(PERIOD_SECONDS),
        FUNCTION_OUTPUT_KEY: OUTPUT_KEY,
        SHUTDOWN_GRACE_SECONDS: '5',
      });
    // All three at once, as a Deployment's replicas start: migrations race under their advisory lock.
    const spawned = await Promise.allSettled(PODS.map((name) => spawnBackend(podEnv(name), 60_000)));
    spawned.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        pods.set(PODS[i]!, result.value);
        started.push({ name: PODS[i]!, child: result.value.child, output: result.value.output, exit: result.value.exit });
      }
    });
    for (const result of spawned) if (result.status === 'rejected') throw result.reason;

    log = await listenToStatuses(db!.url);

    const runtimeEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PYENV'))),
      LOG_LEVEL: 'info',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redisServer!.port),
      REDIS_INPUT_KEY: 'metrics:*',
      REDIS_OUTPUT_KEY: OUTPUT_KEY,
      INTERVAL: String(PERIOD_SECONDS),
      FUNCTION_PATH: USERMODULE_PY,
      HANDLER_FUNCTION: 'usermodule.handler',
      // Any free port for its /healthz and /metrics: other tests may run runtimes too.
      HEALTH_PORT: '0',
    };
    runtime = await spawnRuntime(runtimeEnv, started);

    // Every pod's snapshot is in Redis, and the runtime has written each pod's derived figures.
    await waitFor(
      async () => {
        const snapshots = await r().mget(...PODS.map((n) => `metrics:${n}`));
        const derived = await r().mget(...PODS.map((n) => `${OUTPUT_KEY}:${n}`));
        return snapshots.every((s) => s !== null) && derived.every((d) => d !== null && hasDerivedFigures(JSON.parse(d)));
      },
      60_000,
      100,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nruntime output:\n${runtime!.output()}`);
    });
    for (const name of PODS) {
      const snapshot = JSON.parse((await r().get(`metrics:${name}`))!) as Record<string, unknown>;
      assert.equal(snapshot.pod, name);
      const ttl = await r().pttl(`metrics:${name}`);
      assert.ok(ttl > 0 && ttl <= KEY_LIFETIME_MS, `metrics:${name} expires within three periods (PTTL ${ttl} ms)`);
      assertDerivedFigures(JSON.parse((await r().get(`${OUTPUT_KEY}:${name}`))!), `${OUTPUT_KEY}:${name}`);
    }

    // Any pod serves the whole cluster, with the runtime's figures for each pod.
    const view = await waitFor(
      async () => {
        const body = await clusterView('pod-a');
        const names = body.pods.map((p) => p.pod);
        return names.join() === PODS.join() && body.pods.every((p) => hasDerivedFigures(p.derived)) ? body : undefined;
      },
      30_000,
      100,
    );
    assert.equal(view.source, 'redis');
    assert.equal(view.redisConnected, true);
    assert.equal(view.pod, 'pod-a');
    assert.equal(view.periodSeconds, PERIOD_SECONDS);
  });

  it(
    'a pod killed with SIGKILL mid-batch loses nothing: every image completes exactly once, its images on another pod',
    { timeout: TEST_TIMEOUT },
    async (t) => {
      const victim = pod(VICTIM);
      const statusLog = log!;
      const batchId = randomUUID();
      let uploadsSettled = false;
      // 20 to each pod, one batch: clients reach the pods through the Service, so any pod takes any upload.
      const uploads = PODS.map((name, k) =>
        upload(
          pod(name).url,
          Array.from({ length: PER_POD }, (_, i) => ({
            name: `${name}-${String(i + 1).padStart(2, '0')}.jpg`,
            data: jpegs[(k * PER_POD + i) % jpegs.length]!,
          })),
          { batchId },
        ).then(async (res) => {
          const body = (await res.json()) as UploadResponse;
          assert.equal(res.status, 202, `upload to ${name}: ${JSON.stringify(body)}`);
          assert.equal(body.accepted, PER_POD, `upload to ${name} accepted every file`);
          assert.equal(body.batchId, batchId);
          return body;
        }),
      );
      const allUploads = Promise.all(uploads);
      void allUploads.then(
        () => (uploadsSettled = true),
        () => (uploadsSettled = true),
      );
      // pod-b's own upload must be answered before it dies: an upload cut off mid-stream is
      // the client's to retry, and not what this test is about.
      await uploads[PODS.indexOf(VICTIM)];

      const batchCounts = async () =>
        (
          await q().query<{ completed: number; open: number }>(
            `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
                  count(*) FILTER (WHERE status IN ('pending', 'processing'))::int AS open
             FROM processed_images WHERE batch_id = $1`,
            [batchId],
          )
        ).rows[0]!;

      // Some images done...
      await waitFor(async () => (await batchCounts()).completed >= 3, 60_000, 10);
      // ...and pod-b caught holding some. It is frozen (SIGSTOP) while we look, so that what the
      // database shows is what it holds when it dies; if it holds nothing right then, it runs a
      // moment and we look again.
      let heldAtKill: number[] = [];
      let looks = 0;
      const deadline = Date.now() + 60_000;
      for (;;) {
        looks++;
        victim.child.kill('SIGSTOP');
        // Statements it had already sent still finish at the server: wait until two looks agree.
        let previous: number[] | undefined;
        for (;;) {
          await sleep(150); // Real time: statements in flight at a real Postgres finish; nothing announces that.
          heldAtKill = await heldBy(VICTIM);
          if (previous && previous.join() === heldAtKill.join()) break;
          previous = heldAtKill;
        }
        if (heldAtKill.length > 0) break;
        victim.child.kill('SIGCONT');
        const { open } = await batchCounts();
        assert.ok(!(uploadsSettled && open === 0), `the batch finished before ${VICTIM} was caught holding an image`);
        assert.ok(Date.now() < deadline, `${VICTIM} was never caught holding an image`);
        await sleep(100); // Real time: let the real pod run a moment before it is frozen again.
      }
      const { completed: completedAtKill } = await batchCounts();
      victim.child.kill('SIGKILL');
      killedAt = Date.now();
      pods.delete(VICTIM);
      ttlAtKillMs = await r().pttl(`metrics:${VICTIM}`);
      // Watch for pod-b's metrics key to go, from now (checked in the next step).
      victimKeyGone = (async () => {
        const until = killedAt + KEY_LIFETIME_MS + MARGIN_MS + 5_000;
        while (Date.now() < until) {
          if ((await r().exists(`metrics:${VICTIM}`)) === 0) return Date.now();
          await sleep(25); // Real time: the key's TTL runs in a real Redis, which sends no event here.
        }
        return null;
      })();
      const victimExit = await victim.exit;
      assert.equal(victimExit.signal, 'SIGKILL');

      // What it held is left behind, leased to a worker that no longer exists.
      const orphaned = await heldBy(VICTIM);
      assert.ok(orphaned.length > 0, `${VICTIM} held images when it was killed`);
      assert.ok(
        orphaned.every((id) => heldAtKill.includes(id)),
        'it took nothing new while frozen',
      );
      assert.ok(completedAtKill >= 3 && completedAtKill < TOTAL, `killed mid-batch (${completedAtKill}/${TOTAL} completed)`);

      const responses = await allUploads;
      batchIds = responses.flatMap((b) => b.images.map((img) => img.id));
      assert.equal(batchIds.length, TOTAL);
      assert.equal(new Set(batchIds).size, TOTAL, 'every upload got its own id');

      // Every image completes within the lease time (plus a generous margin) after the kill.
      await waitFor(async () => (await batchCounts()).completed === TOTAL, (LEASE_SECONDS + 30) * 1000, 100).catch((err: unknown) => {
        throw new Error(`${String(err)}: not every image completed within ${LEASE_SECONDS} s + 30 s of the kill`);
      });
      t.diagnostic(
        `${VICTIM} killed after ${looks} look(s), ${completedAtKill}/${TOTAL} completed, holding ${orphaned.length} (ids ${orphaned.join(', ')}); ` +
          `all ${TOTAL} completed ${Date.now() - killedAt} ms after the kill (lease ${LEASE_SECONDS} s)`,
      );
      // Notifications arrive just after their commits; then give any duplicate time to show up.
      await waitFor(() => batchIds.every((id) => statusLog.completions(id) >= 1), 15_000, 50);
      // Real time: a duplicate could only come after a real pod's lease expires in Postgres.
      await sleep(LEASE_SECONDS * 1000);

      for (const id of batchIds) assert.equal(statusLog.completions(id), 1, `image ${id} completed exactly once`);
      const failures = statusLog.events.filter((e) => e.batchId === batchId && e.status === 'failed');
      assert.deepEqual(failures, [], 'no image failed');

      const { rows } = await q().query<{
        id: string;
        status: string;
        attempts: number;
        worker_id: string;
        ow: number;
        oh: number;
        w: number;
        h: number;
        n: number;
      }>(
        `SELECT id, status, attempts, worker_id, original_width AS ow, original_height AS oh, width AS w, height AS h,
              processed_bytes AS n
         FROM processed_images WHERE batch_id = $1 ORDER BY id`,
        [batchId],
      );
      assert.equal(rows.length, TOTAL);
      for (const row of rows) {
        assert.equal(row.status, 'completed', `image ${row.id}`);
        assert.deepEqual([row.ow, row.oh, row.w, row.h], [1600, 1200, 800, 600], `image ${row.id}: 1600x1200 → 800x600`);
        assert.ok(row.n > 1000, `image ${row.id} has its JPEG`);
      }
      // The images pod-b held were finished by a live pod, on their second attempt.
      for (const id of orphaned) {
        const row = rows.find((x) => Number(x.id) === id)!;
        assert.ok(
          LIVE.some((name) => row.worker_id.startsWith(`${name}/`)),
          `image ${id}, held by ${VICTIM}, finished by a live pod, not ${row.worker_id}`,
        );
        assert.equal(row.attempts, 2, `image ${id} finished on its second attempt`);
        const completion = statusLog.events.find((e) => e.id === id && e.status === 'completed')!;
        assert.equal(completion.workerId, row.worker_id, `image ${id}: the notification names the finishing worker`);
      }
      // Nothing pod-b left half-done is still leased to it.
      assert.deepEqual(await heldBy(VICTIM), []);
    },
  );

  it("the dead pod's metrics key expires while the live pods keep publishing; the API lists exactly the live pods", { timeout: TEST_TIMEOUT }, async (t) => {
    assert.ok(victimKeyGone, 'the kill happened (the previous step)');
    // The key was last written before the kill, with three periods to live.
    assert.ok(ttlAtKillMs <= KEY_LIFETIME_MS, `metrics:${VICTIM} had at most three periods to live at the kill (PTTL ${ttlAtKillMs})`);
    const goneAt = await victimKeyGone;
    assert.ok(goneAt !== null, `metrics:${VICTIM} still in Redis ${KEY_LIFETIME_MS + MARGIN_MS} ms after the kill`);
    assert.ok(
      goneAt - killedAt <= KEY_LIFETIME_MS + MARGIN_MS,
      `metrics:${VICTIM} gone ${goneAt - killedAt} ms after the kill (three periods: ${KEY_LIFETIME_MS} ms, + margin)`,
    );
    t.diagnostic(`metrics:${VICTIM}: PTTL ${ttlAtKillMs} ms at the kill, gone ${goneAt - killedAt} ms after it`);

    // The live pods' keys keep being refreshed: their snapshot timestamps advance, period after period.
    for (let round = 0; round < 3; round++) {
      const before = await snapshotTimes(LIVE);
      assert.ok(
        before.every((t) => t !== null),
        `the live pods' keys exist: ${JSON.stringify(before)}`,
      );
      await waitFor(
        async () => {
          const now = await snapshotTimes(LIVE);
          return now.every((t, i) => t !== null && t > before[i]!);
        },
        15_000,
        50,
      );
    }

    // Each live pod's view drops the dead pod and keeps the live ones.
    for (const from of LIVE) {
      await waitFor(async () => (await clusterView(from)).pods.map((p) => p.pod).join() === LIVE.join(), 30_000, 100);
    }
    // ...and stays that way, with fresh snapshots, while pod-b stays gone from Redis.
    const first = await clusterView('pod-a');
    assert.deepEqual(
      first.pods.map((p) => p.pod),
      [...LIVE],
    );
    const stamp = (view: MetricsResponse, name: Pod) => view.pods.find((p) => p.pod === name)?.snapshot.timestamp;
    const later = await waitFor(
      async () => {
        const view = await clusterView('pod-a');
        const listsOthers = view.pods.map((p) => p.pod).join() !== LIVE.join();
        return listsOthers || LIVE.every((name) => stamp(view, name)! > stamp(first, name)!) ? view : undefined;
      },
      15_000,
      100,
    );
    assert.deepEqual(
      later.pods.map((p) => p.pod),
      [...LIVE],
      "pod-a's view keeps listing exactly the live pods",
    );
    assert.equal(await r().exists(`metrics:${VICTIM}`), 0, `metrics:${VICTIM} does not come back`);
  });

  it('the runtime keeps deriving figures for each live pod, and pod-a serves them', { timeout: TEST_TIMEOUT }, async () => {
    assert.ok(runtime, 'the runtime is running (the first step)');
    for (const name of LIVE) {
      const key = `${OUTPUT_KEY}:${name}`;
      assertDerivedFigures(JSON.parse((await r().get(key)) ?? 'null'), key);
      // It keeps updating: the handler runs again for every new snapshot.
      const before = await runtimeStats(name);
      assert.ok(before, `${key}:stats exists`);
      const after = await waitFor(
        async () => {
          const now = await runtimeStats(name);
          return now && now.writes >= before.writes + 2 ? now : undefined;
        },
        15_000,
        50,
      );
      assert.equal(after.errors, 0, `${key}: the handler never failed (${JSON.stringify(after.errors_by_kind)})`);
      assert.equal(await r().exists(`${key}:error`), 0, `no ${key}:error`);
      assertDerivedFigures(JSON.parse((await r().get(key)) ?? 'null'), key);
    }
    assert.equal(await r().exists(`${OUTPUT_KEY}:error`), 0, 'no module load error');

    // The dead pod's context is dropped once its key is gone...
    await waitFor(
      () =>
        runtime!
          .output()
          .split('\n')
          .some((line) => line.includes('context dropped') && line.includes(`"metrics:${VICTIM}"`)),
      15_000,
      100,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}: the runtime never dropped metrics:${VICTIM}'s context\n${runtime!.output()}`);
    });
    // ...so its derived figures stop changing, while the live pods' go on.
    const victimStats = await runtimeStats(VICTIM);
    const liveStats = await runtimeStats('pod-a');
    await waitFor(async () => ((await runtimeStats('pod-a'))?.writes ?? 0) >= liveStats!.writes + 2, 15_000, 50);
    assert.deepEqual(await runtimeStats(VICTIM), victimStats, `${OUTPUT_KEY}:${VICTIM} no longer updated`);

    // pod-a's API carries the runtime's figures for each live pod.
    const view = await waitFor(
      async () => {
        const body = await clusterView('pod-a');
        return body.pods.map((p) => p.pod).join() === LIVE.join() && body.pods.every((p) => hasDerivedFigures(p.derived)) ? body : undefined;
      },
      15_000,
      100,
    );
    for (const entry of view.pods) assertDerivedFigures(entry.derived, `pod-a's view of ${entry.pod}`);
  });

  it('the survivors and the runtime stop cleanly on SIGTERM (exit 0), as on a rollout', { timeout: TEST_TIMEOUT }, async () => {
    const survivors = started.filter((p) => p.name !== VICTIM);
    assert.deepEqual(survivors.map((p) => p.name).sort(), ['pod-a', 'pod-c', 'runtime']);
    const exits = await Promise.all(survivors.map((p) => stopProcess(p, 20_000)));
    exits.forEach((exit, i) => {
      assert.deepEqual(exit, { code: 0, signal: null }, `${survivors[i]!.name} exited cleanly:\n${survivors[i]!.output().slice(-2000)}`);
    });
    pods.clear();
  });
});
