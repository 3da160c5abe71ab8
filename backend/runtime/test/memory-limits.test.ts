/**
 * HANDLER_MEMORY_MB: a handler that allocates without end is stopped at its
 * limit, reported under its output's `:error` (kind `memory`), and neither
 * the runtime's own memory nor another context's calls and env are touched.
 * The runtime runs as its own process (the bin) so its memory is measured as
 * the kernel sees it: the peak resident size (VmHWM) of that process.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { runBin } from './support/bin.js';
import { RuntimeTestBed, TEST_REDIS_URL, waitFor } from './support/harness.js';
import { MiB, childPids, isRunning, statusBytes } from './support/proc.js';

/** The runtime's pod limit in k8s/runtime.yaml: what the runtime must stay under whatever a handler does. */
const POD_LIMIT = 256 * MiB;

/**
 * Grows the JS heap (arrays) or memory outside it (Buffers) until something
 * stops it. The 1 GiB backstop only ends the test when nothing does: the
 * handler then returns and the test fails on that.
 */
const JS_ALLOCATES = `
import { Buffer } from 'node:buffer';
const MiB = 1024 * 1024;
const BACKSTOP = 1024 * MiB;

export function handler(input, context) {
  context.env.n = (context.env.n ?? 0) + 1;
  const hoard = [];
  let bytes = 0;
  if (input.grow === 'heap') {
    while (bytes < BACKSTOP) { hoard.push(new Array(MiB / 8).fill(bytes)); bytes += MiB; }
    return { survived: bytes };
  }
  if (input.grow === 'buffers') {
    while (bytes < BACKSTOP) { hoard.push(Buffer.alloc(8 * MiB, 1)); bytes += 8 * MiB; }
    return { survived: bytes };
  }
  return { pod: input.pod, v: input.v, n: context.env.n, pid: process.pid };
}
`;

/** Returns at once, and leaves a timer that allocates Buffers until something stops it. */
const JS_LEAKS_LATER = `
import { Buffer } from 'node:buffer';
export function handler(input, context) {
  context.env.n = (context.env.n ?? 0) + 1;
  if (input.leak) {
    const hoard = [];
    setInterval(() => { if (hoard.length < 128) hoard.push(Buffer.alloc(8 * 1024 * 1024, 1)); }, 5);
  }
  return { n: context.env.n, pid: process.pid };
}
`;

const PY_ALLOCATES = `
import os

def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    if input.get('big'):
        block = bytearray(1 << 30)
        return {'survived': len(block)}
    if input.get('hoard'):
        # The env itself fills the limit: only a new process can give the memory back.
        hoard = context.env.setdefault('hoard', [])
        while len(hoard) < 64:
            hoard.append(bytearray(16 << 20))
        return {'survived': len(hoard)}
    return {'n': context.env['n'], 'pid': os.getpid()}
`;

function oomScoreAdj(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8'));
}

interface Out {
  n: number;
  pid: number;
  survived?: number;
}

/** Samples the peak resident memory of a process tree while a test runs (reported, not asserted: sampling can miss a peak). */
function samplePeaks(rootPid: number) {
  let runtimePeak = 0;
  let childPeak = 0;
  const timer = setInterval(() => {
    runtimePeak = Math.max(runtimePeak, statusBytes(rootPid, 'VmRSS') ?? 0);
    for (const pid of childPids(rootPid)) childPeak = Math.max(childPeak, statusBytes(pid, 'RssAnon') ?? 0);
  }, 20);
  return {
    stop: () => clearInterval(timer),
    describe: () => `sampled peaks: runtime RSS ${(runtimePeak / MiB).toFixed(0)} MiB, largest handler process ${(childPeak / MiB).toFixed(0)} MiB (anonymous)`,
  };
}

describe('handler memory limits', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('javascript: a handler growing its heap, then one growing Buffers, dies at its limit; the runtime stays small and the other contexts go on', async (t) => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'handler.mjs', JS_ALLOCATES);
    const base = bed.key('js:out');
    const keyOf = (pod: string) => bed.key(`js:in:${pod}`);
    const out = (pod: string) => `${base}:${pod}`;
    const send = (pod: string, v: number, extra: Record<string, unknown> = {}) => bed.redis.set(keyOf(pod), JSON.stringify({ pod, v, ...extra }));
    for (const pod of ['a', 'b', 'c']) await send(pod, 1);

    // HANDLER_MEMORY_MB is left unset: the default is what is under test.
    const proc = runBin({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_INPUT_KEY: bed.key('js:in:*'),
      REDIS_OUTPUT_KEY: base,
      INTERVAL: '0.1',
      HANDLER_TIMEOUT: '120',
      FUNCTION_PATH: file,
    });
    t.after(async () => {
      proc.child.kill('SIGKILL');
      await proc.exit;
    });
    const runtimePid = proc.child.pid!;
    const peaks = samplePeaks(runtimePid);
    t.after(() => peaks.stop());

    for (const pod of ['a', 'b', 'c']) await bed.waitInvocations(out(pod), 1);
    const first = { a: (await bed.getJson<Out>(out('a')))!, b: (await bed.getJson<Out>(out('b')))!, c: (await bed.getJson<Out>(out('c')))! };
    for (const pod of ['a', 'b', 'c'] as const) {
      assert.equal(oomScoreAdj(first[pod].pid), 1000, 'should the pod run out of memory, the kernel ends a handler first');
    }
    assert.equal(oomScoreAdj(runtimePid), 0, 'and never the runtime');
    let cCalls = 1;
    const bystanderGoesOn = async () => {
      await send('c', ++cCalls);
      await bed.waitInvocations(out('c'), cCalls);
      const c = (await bed.getJson<Out>(out('c')))!;
      assert.equal(c.n, cCalls, "c's env went on counting");
      assert.equal(c.pid, first.c.pid, "c's handler process was not touched");
    };

    for (const [pod, grow] of [
      ['a', 'heap'],
      ['b', 'buffers'],
    ] as const) {
      await send(pod, 2, { grow });
      await bed.waitInvocations(out(pod), 2);
      const error = await bed.lastError(out(pod));
      assert.equal(error?.kind, 'memory', `${grow}: ${JSON.stringify(error)}`);
      assert.match(error?.error ?? '', /memory limit of 96 MiB \(HANDLER_MEMORY_MB\)/);
      assert.equal(error?.state_lost, true);
      assert.equal((await bed.getJson<Out>(out(pod)))?.survived, undefined, 'nothing was written for the failed call');
      await bystanderGoesOn();
    }

    // The two that died recover in a new process, their env started afresh.
    for (const pod of ['a', 'b'] as const) {
      await send(pod, 3);
      await bed.waitInvocations(out(pod), 3);
      const now = (await bed.getJson<Out>(out(pod)))!;
      assert.equal(now.n, 1, `${pod}'s env was lost with its process`);
      assert.notEqual(now.pid, first[pod].pid, `${pod} runs in a new process`);
      assert.equal((await bed.stats(out(pod)))?.state_resets, 1);
    }
    await bystanderGoesOn();

    const runtimePeak = statusBytes(runtimePid, 'VmHWM');
    t.diagnostic(`runtime peak RSS (VmHWM) ${((runtimePeak ?? 0) / MiB).toFixed(0)} MiB; ${peaks.describe()}`);
    assert.ok(runtimePeak !== undefined && runtimePeak < POD_LIMIT, `runtime peak RSS ${runtimePeak} must stay under ${POD_LIMIT}`);
  });

  test('javascript: a timer that fills memory between calls gets its process killed; the next call runs in a new one and says so', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'handler.mjs', JS_LEAKS_LATER);
    const input = bed.key('later:in');
    const output = bed.key('later:out');
    const { logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.redis.set(input, JSON.stringify({ leak: true }));
    await bed.waitInvocations(output, 1);
    const leaking = (await bed.getJson<Out>(output))!;
    assert.equal(leaking.n, 1);
    await waitFor('the leaking process killed', () => !isRunning(leaking.pid));

    await bed.redis.set(input, JSON.stringify({ leak: false }));
    await bed.waitInvocations(output, 2);
    const fresh = (await bed.getJson<Out>(output))!;
    assert.notEqual(fresh.pid, leaking.pid);
    assert.equal(fresh.n, 1, 'the env went with the process');
    const stats = await bed.stats(output);
    assert.equal(stats?.state_resets, 1, 'the lost env is counted');
    assert.equal(stats?.errors, 0, 'the call itself was fine');
    const notice = logs.find((l) => l.msg.includes('handler process had ended between calls'));
    assert.match(notice?.msg ?? '', /memory limit of 96 MiB \(HANDLER_MEMORY_MB\).*context\.env was lost/);
  });

  test('python: allocating 1 GiB is a clear memory error and the bridge goes on with its env; an env that fills the limit gets a new process', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', PY_ALLOCATES);
    const input = bed.key('py:in');
    const output = bed.key('py:out');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file, handlerTimeoutSeconds: 60 });
    let calls = 0;
    const send = async (value: Record<string, unknown>) => {
      await bed.redis.set(input, JSON.stringify({ ...value, seq: calls }));
      await bed.waitInvocations(output, ++calls);
    };

    await send({});
    const before = (await bed.getJson<Out>(output))!;
    assert.equal(oomScoreAdj(before.pid), 1000, 'should the pod run out of memory, the kernel ends a handler first');
    await send({ big: true });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'memory', JSON.stringify(error));
    assert.match(error?.error ?? '', /^MemoryError: .*memory limit of 96 MiB \(HANDLER_MEMORY_MB\)/);
    assert.equal(error?.state_lost, undefined, 'the failed allocation gave its memory back: env kept');
    await send({});
    const after = (await bed.getJson<Out>(output))!;
    assert.equal(after.pid, before.pid, 'the same python process goes on');
    assert.equal(after.n, 3, 'with its env');

    await send({ hoard: true });
    const hoarded = await bed.lastError(output);
    assert.equal(hoarded?.kind, 'memory');
    assert.equal(hoarded?.state_lost, true, 'the env held the memory: the process was restarted');
    await send({});
    const fresh = (await bed.getJson<Out>(output))!;
    assert.notEqual(fresh.pid, before.pid);
    assert.equal(fresh.n, 1);
    await waitFor('old python process gone', () => statusBytes(before.pid, 'VmRSS') === undefined);
  });
});
