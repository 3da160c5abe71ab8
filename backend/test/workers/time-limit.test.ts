/**
 * Time limits counted in a fair share of a core, and how crowded the CPUs
 * are. The clock is the subject here, so it is node:test's fake clock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, mock } from 'node:test';
import { CpuContention, readRunnable } from '../../src/workers/cpu-contention.js';
import { describeLimit, FairShareDeadline, timeLimitMs } from '../../src/workers/time-limit.js';

describe('fair-share deadline', () => {
  it('runs down at the clock’s pace on idle CPUs, and expires once', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    try {
      let expired = 0;
      const d = new FairShareDeadline(1000, { current: () => 1 }, () => expired++, 100).start();
      mock.timers.tick(900);
      assert.equal(expired, 0);
      assert.equal(d.used, 900);
      mock.timers.tick(100);
      assert.equal(expired, 1);
      mock.timers.tick(5000);
      assert.equal(expired, 1, 'stopped once expired');
    } finally {
      mock.timers.reset();
    }
  });

  it('runs three times slower with three threads per core, and follows a change of load', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    try {
      let crowding = 3;
      let expired = false;
      const d = new FairShareDeadline(1000, { current: () => crowding }, () => (expired = true), 100).start();
      mock.timers.tick(2700);
      assert.equal(expired, false);
      assert.equal(Math.round(d.used), 900);
      crowding = 1; // the hog beside it stopped
      mock.timers.tick(100);
      assert.equal(expired, true);
      assert.equal(d.wallMs, 2800);
    } finally {
      mock.timers.reset();
    }
  });

  it('never expires once stopped', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    try {
      let expired = false;
      const d = new FairShareDeadline(100, { current: () => 1 }, () => (expired = true), 10).start();
      d.stop();
      mock.timers.tick(10_000);
      assert.equal(expired, false);
    } finally {
      mock.timers.reset();
    }
  });

  it('gives a job its base plus slack times its work at this machine’s speed', () => {
    assert.equal(timeLimitMs(16_000, { baseMs: 10_000, slack: 3, speed: () => 1.5 }), 10_000 + 3 * 16_000 * 1.5);
    assert.match(describeLimit(82_000, 10_000), /^82 s of a fair share of one core \(10 s for any image/);
  });
});

describe('CPU contention', () => {
  it('reads the runnable threads from /proc/loadavg', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'loadavg-'));
    const file = path.join(dir, 'loadavg');
    writeFileSync(file, '16.79 12.58 6.01 7/247 23329\n');
    assert.equal(readRunnable(file), 7);
    writeFileSync(file, 'garbage');
    assert.equal(readRunnable(file), undefined);
    assert.equal(readRunnable(path.join(dir, 'missing')), undefined);
  });

  it('averages recent samples per core, never below one, and never below this process’s own busy threads', () => {
    const readings = [8, 8, 2, 2];
    let busy = 0;
    const c = new CpuContention(
      2,
      () => busy,
      () => readings.shift(),
      250,
      4,
    );
    assert.equal(c.current(), 1, 'nothing sampled yet');
    for (let i = 0; i < 4; i++) c.sample();
    assert.equal(c.current(), 2.5, '(8 + 8 + 2 + 2) / 4 runnable on 2 cores');
    busy = 8;
    assert.equal(c.current(), 4, 'its own 8 busy threads on 2 cores');
  });

  it('follows the machine this runs on', () => {
    const c = new CpuContention();
    c.sample();
    assert.ok(c.current() >= 1 && Number.isFinite(c.current()));
  });
});
