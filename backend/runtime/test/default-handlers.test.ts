/**
 * The bundled default function exists twice: default-handler.ts (JS) and
 * functions/usermodule.py (Python). Both run through the runtime on the same
 * 90 s of snapshots and must agree with each other and with figures computed
 * here by hand.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { FUNCTIONS_DIR, JS_DEFAULT_HANDLER, RuntimeTestBed, jsonWithFloats } from './support/harness.js';

const STEPS = 19; // t = 0, 5, …, 90 s
const CPU1 = [0, 25, 50];
const TOTAL = 8_000_000_000;

function cpu0(k: number): number {
  return 10.5 + k;
}
function cpu1(k: number): number {
  return CPU1[k % 3]!;
}
function sent(k: number): number {
  return 1000 * (k + 1);
}
function recv(k: number): number {
  return 3000 * (k + 1) + 1000 * k;
}
function cached(k: number): number {
  return 1_000_000_000 + 10_000_000 * k;
}
const BUFFERS = 200_000_000;

function snapshot(k: number): string {
  const t = new Date(Date.UTC(2026, 2, 1, 12, 0, 0) + k * 5000);
  const stamp = `${t.toISOString().slice(0, 10)} ${t.toISOString().slice(11, 19)}.250000`;
  return jsonWithFloats({
    timestamp: stamp,
    'cpu_percent-0': { float: cpu0(k) },
    'cpu_percent-1': { float: cpu1(k) },
    cpu_freq_current: { float: 2400.0 },
    'virtual_memory-total': TOTAL,
    'virtual_memory-available': 4_000_000_000,
    'virtual_memory-percent': { float: 50.0 },
    'virtual_memory-cached': cached(k),
    'virtual_memory-buffers': BUFFERS,
    'net_io_counters_eth0-bytes_sent': sent(k),
    'net_io_counters_eth0-bytes_recv': recv(k),
    n_pids: 120,
    pod: 'pod-a',
  });
}

/** The window is (now - 60 s, now]: 12 snapshots 5 s apart; the one exactly 60 s old is out. */
function windowMean(values: (k: number) => number, k: number): number {
  const first = Math.max(0, k - 11);
  let total = 0;
  for (let j = first; j <= k; j++) total += values(j);
  return total / (k - first + 1);
}

function expected(k: number): Record<string, number> {
  return {
    percentage_outgoing_bytes: (sent(k) / (sent(k) + recv(k))) * 100,
    percentage_memory_caching: ((cached(k) + BUFFERS) / TOTAL) * 100,
    'moving_average_cpu_percent-0': windowMean(cpu0, k),
    'moving_average_cpu_percent-1': windowMean(cpu1, k),
  };
}

describe('default handler: Python twin and JS agree', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('hand-checked window figures', () => {
    // Sanity of the expectations themselves, worked out on paper.
    assert.equal(expected(0)['moving_average_cpu_percent-0'], 10.5);
    assert.equal(expected(11)['moving_average_cpu_percent-0'], 16); // 10.5…21.5, all 12 (t=0 is 55 s old)
    assert.equal(expected(12)['moving_average_cpu_percent-0'], 17); // t=0 is exactly 60 s old: out
    assert.equal(expected(18)['moving_average_cpu_percent-0'], 23); // 17.5…28.5
    assert.equal(expected(18)['moving_average_cpu_percent-1'], 25); // 25, 50, 0 four times
    assert.equal(expected(1)['moving_average_cpu_percent-1'], 12.5);
    assert.equal(expected(0).percentage_outgoing_bytes, 25);
    assert.equal(expected(0).percentage_memory_caching, 15);
  });

  test('over 90 s of snapshots both give the same figures, equal to the hand-computed ones', async () => {
    const pyIn = bed.key('default:py:in');
    const pyOut = bed.key('default:py:out');
    const jsIn = bed.key('default:js:in');
    const jsOut = bed.key('default:js:out');
    await bed.start({ inputKey: pyIn, outputKey: pyOut, functionPath: path.join(FUNCTIONS_DIR, 'usermodule.py') });
    await bed.start({ inputKey: jsIn, outputKey: jsOut, functionPath: JS_DEFAULT_HANDLER });

    for (let k = 0; k < STEPS; k++) {
      const text = snapshot(k);
      await bed.redis.mset(pyIn, text, jsIn, text);
      await Promise.all([bed.waitInvocations(pyOut, k + 1), bed.waitInvocations(jsOut, k + 1)]);
      const py = await bed.getJson(pyOut);
      const js = await bed.getJson(jsOut);
      assert.deepStrictEqual(py, js, `step ${k}: Python and JS differ`);
      assert.deepStrictEqual(py, expected(k), `step ${k}: not the hand-computed figures`);
    }
    for (const out of [pyOut, jsOut]) {
      const stats = await bed.stats(out);
      assert.equal(stats?.errors, 0);
      assert.equal(stats?.writes, STEPS);
    }
  });
});
