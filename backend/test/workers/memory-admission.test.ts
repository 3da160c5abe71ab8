/**
 * Jobs admitted by memory: the budget, and the room the process's own
 * memory leaves under its limit (what libvips and glibc keep after jobs).
 * The RSS readings are the test's; sample() is called as the timer would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryAdmission } from '../../src/workers/memory-admission.js';
import { memoryBudget } from '../../src/workers/memory-budget.js';

const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));

/** A 1 GiB pod's budget; `limitBytes` null: no limit known. */
function admission(rss: { value: number }, limitBytes: number | null = 1024 * MiB) {
  const budget = { bytes: 704 * MiB, source: 'container limit' as const, ...(limitBytes === null ? {} : { limitBytes }) };
  const a = new MemoryAdmission(budget, () => rss.value);
  a.sample();
  return a;
}

describe('memory admission', () => {
  it('admits jobs while their sum fits the budget, first come first served', async () => {
    const a = admission({ value: 200 * MiB });
    const granted: number[] = [];
    const releases = await Promise.all(
      [300, 300].map(async (mb, i) => {
        const r = await a.acquire(mb * MiB);
        granted.push(i);
        return r;
      }),
    );
    const third = a.acquire(300 * MiB).then((r) => (granted.push(2), r));
    const small = a.acquire(10 * MiB).then((r) => (granted.push(3), r));
    await tick();
    assert.deepEqual(granted, [0, 1], '600 of 704 MiB used: the third waits, and the small one behind it does too');
    releases[0]!();
    await tick();
    assert.deepEqual(granted, [0, 1, 2, 3]);
    (await third)();
    (await small)();
    releases[1]!();
    assert.equal(a.inUse, 0);
  });

  it('shrinks the room by what the process itself holds after jobs, and gives it back once trimmed', async () => {
    const rss = { value: 500 * MiB };
    const a = admission(rss);
    assert.equal(a.room, 1024 * MiB - 500 * MiB - 64 * MiB, 'idle at 500 MiB: 460 MiB left for jobs');
    const first = await a.acquire(170 * MiB);
    const second = await a.acquire(170 * MiB);
    let third = false;
    const pending = a.acquire(170 * MiB).then((r) => ((third = true), r));
    await tick();
    assert.equal(third, false, '3 × 170 MiB fit the budget (704) but not what the process leaves (460)');
    first();
    second();
    await tick();
    assert.equal(third, true);
    (await pending)();
    rss.value = 250 * MiB;
    a.sample();
    assert.equal(a.room, 704 * MiB, 'back to the budget once the process holds little again');
  });

  it('counts a job that uses more than its estimate against the room', async () => {
    const rss = { value: 200 * MiB };
    const a = admission(rss);
    const big = await a.acquire(300 * MiB);
    rss.value = 200 * MiB + 600 * MiB; // the job holds twice what it was granted
    a.sample();
    assert.equal(a.room, 1024 * MiB - (800 - 300) * MiB - 64 * MiB, 'the process holds 500 MiB besides what the job was granted');
    let next = false;
    const waiting = a.acquire(300 * MiB).then((r) => ((next = true), r));
    await tick();
    assert.equal(next, false);
    big();
    await tick();
    assert.equal(next, true, 'alone, a job always runs');
    (await waiting)();
  });

  it('runs a job alone even when the process holds more than the room leaves, and refuses one above the budget', async () => {
    const a = admission({ value: 900 * MiB });
    assert.ok(a.room < 100 * MiB);
    const alone = await a.acquire(400 * MiB);
    alone();
    await assert.rejects(a.acquire(800 * MiB), RangeError);
  });

  it('follows only the budget without a known limit (JOB_MEMORY_MB on a machine with none)', () => {
    const a = admission({ value: 2000 * MiB }, null);
    assert.equal(a.room, 704 * MiB);
    assert.equal(memoryBudget(512, 2 ** 64).limitBytes, undefined);
    assert.equal(memoryBudget(512, 1024 * MiB).limitBytes, 1024 * MiB);
    assert.deepEqual(memoryBudget(undefined, 2 ** 64), { bytes: 704 * MiB, source: 'default pod limit', limitBytes: 1024 * MiB });
  });
});
