/**
 * Two backend processes on one machine, one loaded and one idle, sharing a
 * private Redis: each pod's own figures must be its own, checked against
 * /proc the way the issue checked them (`ps`, /proc/<pid>/stat, VmRSS).
 * Neither backend has a cgroup of its own (both sit in this test's group), so
 * both must say `container-source: process` and report their own process
 * tree, not the machine's or the shared group's figures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { baseEnv, spawnBackend, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort, PrivateRedis, waitFor } from './helpers.js';

const PERIOD_SECONDS = 0.5;
const BURNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-burner.js');
/** The kernel's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every Linux Node runs on). */
const TICKS_PER_SECOND = 100;

interface Sample {
  snapshot: Record<string, number | string | null>;
  derived: Record<string, unknown> | null;
  receivedAt: string;
}
interface Overview {
  pods: { pod: string }[];
  history: { pod: string; samples: Sample[] }[];
}

/** CPU seconds of a process and its reaped children, from /proc/<pid>/stat (fields 14–17). */
function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / TICKS_PER_SECOND;
}

function vmRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `VmRSS of ${pid}`);
  return Number(m[1]) * 1024;
}

const coreCount = readFileSync('/proc/stat', 'utf8')
  .split('\n')
  .filter((line) => /^cpu\d+\s/.test(line)).length;

describe("each pod's own figures, two backends on one machine", () => {
  let redis: PrivateRedis;
  let db: TestDatabase;
  const backends = new Map<string, BackendProcess>();

  const overview = async (): Promise<Overview> => {
    const res = await fetch(new URL('/api/v1/metrics?span=120', backends.get('pod-idle')!.url));
    assert.equal(res.status, 200);
    return (await res.json()) as Overview;
  };
  const samplesOf = (o: Overview, pod: string): Sample[] => o.history.find((h) => h.pod === pod)?.samples ?? [];

  before(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    db = await createTestDatabase();
    const common = { REDIS_URL: redis.url, METRICS_PERIOD: String(PERIOD_SECONDS), WORKER_THREADS: '1' };
    // A generous bound on starting: the machine may be shared with a lot of other work.
    const loaded = await spawnBackend(baseEnv(db.url, { ...common, POD_NAME: 'pod-loaded', NODE_OPTIONS: `--import=${pathToFileURL(BURNER).href}` }), 120_000);
    backends.set('pod-loaded', loaded);
    backends.set('pod-idle', await spawnBackend(baseEnv(db.url, { ...common, POD_NAME: 'pod-idle' }), 120_000));
    loaded.child.kill('SIGUSR2');
  });

  after(async () => {
    for (const b of backends.values()) {
      b.child.kill('SIGKILL');
      await b.exit;
    }
    await db?.drop();
    await redis?.dispose();
  });

  it("reports each pod's CPU from its own process tree: the loaded one's exceeds the idle one's, both as /proc counts them", async (t) => {
    const pid = (pod: string): number => backends.get(pod)!.child.pid!;
    // Both pods known to the idle one, each with a baseline behind it.
    await waitFor(
      'both pods publishing',
      async () => {
        const o = await overview();
        return samplesOf(o, 'pod-loaded').length >= 2 && samplesOf(o, 'pod-idle').length >= 2;
      },
      30_000,
    );
    // What /proc says, recorded every 100 ms, so it can be read over exactly the span the samples cover.
    const recorded: { at: number; loaded: number; idle: number }[] = [];
    const record = (): void => {
      recorded.push({ at: Date.now(), loaded: cpuSeconds(pid('pod-loaded')), idle: cpuSeconds(pid('pod-idle')) });
    };
    record();
    const recorder = setInterval(record, 100);
    const t0 = Date.now();
    // Twelve periods of samples received after t0, each with the one before it (where its period began).
    const inWindow = (samples: Sample[]): Sample[] => samples.filter((s, i) => i > 0 && Date.parse(samples[i - 1]!.receivedAt) > t0);
    let o: Overview;
    try {
      o = await waitFor(
        'twelve periods of samples',
        async () => {
          const latest = await overview();
          return inWindow(samplesOf(latest, 'pod-loaded')).length >= 12 && inWindow(samplesOf(latest, 'pod-idle')).length >= 12 && latest;
        },
        60_000,
      );
    } finally {
      clearInterval(recorder);
      record();
    }
    /** /proc's CPU seconds of a pod at `at`, between the two recordings around it. */
    const procAt = (pod: 'loaded' | 'idle', at: number): number => {
      const after = recorded.findIndex((r) => r.at >= at);
      const b = recorded[Math.max(0, after)] ?? recorded.at(-1)!;
      const a = recorded[Math.max(0, after - 1)] ?? b;
      return b.at === a.at ? b[pod] : a[pod] + ((b[pod] - a[pod]) * (at - a.at)) / (b.at - a.at);
    };
    /** The reported figure over the window, weighted by each period's length, and /proc's over the same span. */
    const compare = (pod: 'loaded' | 'idle'): { reported: number; truth: number } => {
      const all = samplesOf(o, `pod-${pod}`);
      const window = inWindow(all);
      const times = [all[all.indexOf(window[0]!) - 1]!, ...window].map((s) => Date.parse(s.receivedAt));
      let weighted = 0;
      window.forEach((s, i) => {
        weighted += Number(s.snapshot['container-cpu_percent_of_core']) * (times[i + 1]! - times[i]!);
      });
      const span = times.at(-1)! - times[0]!;
      return { reported: weighted / span, truth: ((procAt(pod, times.at(-1)!) - procAt(pod, times[0]!)) / (span / 1000)) * 100 };
    };
    const { reported: loaded, truth: loadedTruth } = compare('loaded');
    const { reported: idle, truth: idleTruth } = compare('idle');
    const truth = { loaded: loadedTruth, idle: idleTruth };
    const detail = `reported loaded ${loaded.toFixed(1)} %, idle ${idle.toFixed(1)} %; /proc says ${truth.loaded.toFixed(1)} %, ${truth.idle.toFixed(1)} %`;
    t.diagnostic(detail);
    assert.ok(truth.loaded > truth.idle, `the burner loads its pod (${detail})`);
    assert.ok(loaded > idle, `the loaded pod's CPU exceeds the idle one's (${detail})`);
    // Same process, same span (give or take the publish latency at each end).
    for (const [name, value, real] of [
      ['loaded', loaded, truth.loaded],
      ['idle', idle, truth.idle],
    ] as const) {
      assert.ok(Math.abs(value - real) <= Math.max(6, real * 0.15), `${name} pod: ${detail}`);
    }
  });

  it("reports memory within 40 % of the process's RSS, says where its figures come from, and has no network of its own", async (t) => {
    for (const pod of ['pod-loaded', 'pod-idle']) {
      const o = await overview();
      const latest = samplesOf(o, pod).at(-1)!;
      const rss = vmRssBytes(backends.get(pod)!.child.pid!);
      const used = Number(latest.snapshot['container-memory_used']);
      t.diagnostic(`${pod}: reported ${(used / 2 ** 20).toFixed(0)} MiB, VmRSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
      assert.ok(Math.abs(used - rss) <= 0.4 * rss, `${pod}: reported ${(used / 2 ** 20).toFixed(0)} MiB, VmRSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
      assert.equal(latest.snapshot['container-source'], 'process', `${pod} shares its cgroup with this test and the other pod`);
      // Its interface is the machine's, shared with this test and the other pod.
      assert.equal(latest.snapshot['container-network_source'], 'none', pod);
      assert.equal(Object.keys(latest.snapshot).filter((k) => k.startsWith('container-net_io_counters-')).length, 0, pod);
    }
  });

  it("serves every core's 60 s moving average per pod in /api/v1/metrics", async () => {
    const o = await overview();
    for (const pod of ['pod-loaded', 'pod-idle']) {
      const withDerived = samplesOf(o, pod).filter((s) => s.derived !== null);
      assert.ok(withDerived.length >= 5, `${pod} has derived figures`);
      for (const s of withDerived) {
        const cores = Object.keys(s.derived!).filter((k) => /^moving_average_cpu_percent-\d+$/.test(k));
        assert.deepEqual(cores.sort(), Array.from({ length: coreCount }, (_, i) => `moving_average_cpu_percent-${i}`).sort());
        for (const k of cores) assert.equal(typeof s.derived![k], 'number');
      }
    }
  });
});
