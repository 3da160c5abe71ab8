/**
 * A real snapshot of this machine, checked against the monitoring agent's
 * contract on the raw JSON text: every key present, floats written as floats
 * and integers as integers (as Python's json.loads will see them).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringifyWithFloats } from '../../src/metrics/float-json.js';
import { createSnapshotCollector } from '../../src/metrics/snapshot.js';
import { CONTAINER_TEXT_FIELDS, isFloatField, requiredSnapshotFields } from '../../src/metrics/snapshot-contract.js';
import { countingAppStats, pythonTypes, rawTokens } from './helpers.js';

/** Cores as psutil.cpu_percent(percpu=True) lists them: the cpuN lines of /proc/stat. */
const coreCount = readFileSync('/proc/stat', 'utf8')
  .split('\n')
  .filter((line) => /^cpu\d+\s/.test(line)).length;

async function takeSnapshot(appStats = countingAppStats()) {
  const collector = createSnapshotCollector({ podName: 'pod-under-test', appStats });
  await collector.prime();
  // Real time: the CPU percentages are /proc/stat's counters over a real sampling span.
  await sleep(200);
  return collector.collect();
}

describe('snapshot', () => {
  it('has every contract field, one cpu_percent per core, and nothing else', async () => {
    const snapshot = await takeSnapshot();
    const expected = requiredSnapshotFields(coreCount).sort();
    assert.deepEqual(Object.keys(snapshot).sort(), expected);
    assert.ok(coreCount > 0);
    assert.equal(Object.keys(snapshot).filter((k) => k.startsWith('cpu_percent-')).length, coreCount);
  });

  it('writes floats with a decimal point and integers without, as Python reads them', async () => {
    const snapshot = await takeSnapshot();
    const text = stringifyWithFloats(snapshot);
    const tokens = rawTokens(text);
    const py = pythonTypes(text);
    for (const key of requiredSnapshotFields(coreCount)) {
      const token = tokens.get(key);
      assert.ok(token !== undefined, `${key} missing from the raw text`);
      if (key === 'timestamp' || key === 'pod' || key === 'node' || (CONTAINER_TEXT_FIELDS as readonly string[]).includes(key)) {
        assert.equal(py[key], 'str', key);
      } else if (isFloatField(key)) {
        assert.match(token, /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, key);
        assert.match(token, /[.eE]/, `${key}=${token} must be written as a float`);
        assert.equal(py[key], 'float', key);
      } else {
        assert.match(token, /^\d+$/, `${key}=${token} must be a non-negative integer`);
        assert.equal(py[key], 'int', key);
      }
    }
  });

  it('has plausible host figures', async () => {
    const s = await takeSnapshot();
    for (let i = 0; i < coreCount; i++) {
      const p = s[`cpu_percent-${i}`] as number;
      assert.ok(p >= 0 && p <= 100, `cpu_percent-${i}=${p}`);
    }
    const total = s['virtual_memory-total'] as number;
    assert.ok(total > 0);
    assert.ok((s['virtual_memory-available'] as number) <= total);
    assert.ok((s['virtual_memory-percent'] as number) >= 0 && (s['virtual_memory-percent'] as number) <= 100);
    assert.ok((s.n_pids as number) >= 1);
    assert.ok((s.cpu_freq_current as number) >= 0);
  });

  it("has the pod's own figures, says where from, and names the node", async () => {
    const s = await takeSnapshot();
    const ofLimit = s['container-cpu_percent'] as number;
    const ofCore = s['container-cpu_percent_of_core'] as number;
    const limit = s['container-cpu_limit'] as number;
    assert.ok(ofLimit >= 0 && ofLimit <= 100, `container-cpu_percent=${ofLimit}`);
    assert.ok(ofCore >= 0 && ofCore <= 100 * limit + 0.1, `container-cpu_percent_of_core=${ofCore}`);
    assert.ok(limit > 0);
    const used = s['container-memory_used'] as number;
    assert.ok(used > 0 && used <= (s['container-memory_limit'] as number), `memory ${used}`);
    assert.ok(['cgroup', 'process'].includes(String(s['container-source'])), String(s['container-source']));
    assert.ok(['interface', 'none'].includes(String(s['container-network_source'])), String(s['container-network_source']));
    assert.equal(typeof s.node, 'string');
    assert.ok(s.node!.length > 0);
  });

  it('stamps the time as UTC YYYY-MM-DD HH:MM:SS.ffffff', async () => {
    const before = Date.now();
    const s = await takeSnapshot();
    assert.match(s.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    const ms = Date.parse(`${s.timestamp.replace(' ', 'T').slice(0, 23)}Z`);
    assert.ok(Math.abs(ms - before) < 60_000, `${s.timestamp} is not UTC now`);
  });

  it('reports the app figures and computes throughput from processed-count deltas', async () => {
    const s = await takeSnapshot(countingAppStats());
    assert.equal(s['app-active_threads'], 2);
    assert.equal(s['app-total_threads'], 4);
    assert.equal(s['app-queue_size'], 5);
    assert.equal(s['app-processed_count'], 6);
    assert.equal(s['app-failed_count'], 1);
    assert.equal(s['app-avg_process_time'], 0.25);
    // 3 images between prime() and collect(), about 0.2 s apart.
    const throughput = s['app-throughput'] as number;
    assert.ok(throughput > 0 && throughput <= 3 / 0.2 + 1e-9, `throughput ${throughput}`);
  });

  it('keeps producing snapshots when appStats throws, with the last known values', async () => {
    let calls = 0;
    const collector = createSnapshotCollector({
      podName: 'p',
      appStats: () => {
        calls += 1;
        if (calls > 1) throw new Error('pipeline not ready');
        return { activeThreads: 1, totalThreads: 2, queueSize: 3, processedCount: 4, failedCount: 5, avgProcessTimeSeconds: 6 };
      },
    });
    await collector.prime();
    const s = await collector.collect();
    assert.equal(s['app-queue_size'], 3);
    assert.equal(s['app-throughput'], 0);
  });

  it('rounds integer fields the callback hands over as fractions', async () => {
    const collector = createSnapshotCollector({
      podName: 'p',
      appStats: () => ({ activeThreads: 1.6, totalThreads: 4, queueSize: Number.NaN, processedCount: 2, failedCount: -1, avgProcessTimeSeconds: 1 }),
    });
    const text = stringifyWithFloats(await collector.collect());
    const tokens = rawTokens(text);
    assert.equal(tokens.get('app-active_threads'), '2');
    assert.equal(tokens.get('app-queue_size'), '0');
    assert.equal(tokens.get('app-failed_count'), '0');
    assert.equal(tokens.get('app-avg_process_time'), '1.0');
  });
});
