/**
 * Where a pod's own figures come from: its cgroup when the group holds only
 * this process and its relatives, else its own process tree. Fixture /proc
 * and cgroup trees (in the kernel's formats) for both branches and the cases
 * between, then this machine's real /proc with a real busy child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ownsGroups } from '../../src/metrics/cgroup-ownership.js';
import { CgroupReader } from '../../src/metrics/container-cgroup.js';
import { ContainerFiguresReader } from '../../src/metrics/container-figures.js';
import { sharesNetworkNamespace } from '../../src/metrics/container-network.js';
import { parseSmapsRollup, readTreeMemory } from '../../src/metrics/process-memory.js';
import { lineageOf, parsePidStat, readProcessTable, treeCpuSeconds, type ProcessTable } from '../../src/metrics/process-table.js';
import { createSnapshotCollector } from '../../src/metrics/snapshot.js';
import { countingAppStats } from './helpers.js';

let tmp: string;
let fixtures = 0;

async function put(root: string, rel: string, text: string): Promise<void> {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

interface Proc {
  pid: number;
  ppid: number;
  /** utime, stime, cutime, cstime in ticks. */
  ticks?: [number, number, number, number];
  netns?: string;
  rollup?: { rss: number; privateKb: number };
}

const statLine = (p: Proc): string => {
  const [ut, st, cut, cst] = p.ticks ?? [0, 0, 0, 0];
  return `${p.pid} (node (worker) x) S ${p.ppid} ${p.pid} ${p.pid} 0 -1 4194560 0 0 0 0 ${ut} ${st} ${cut} ${cst} 20 0 1 0 2 0 0\n`;
};

/** A fixture /proc whose `self` is `self`, and a cgroup v2 mount whose groups hold the given pids. */
async function fixture(procs: Proc[], self: number, groups: Record<string, string>): Promise<{ proc: string; cg: string; sys: string }> {
  const root = path.join(tmp, `f${++fixtures}`);
  const proc = path.join(root, 'proc');
  const cg = path.join(root, 'cgroup');
  for (const p of procs) {
    await put(proc, `${p.pid}/stat`, statLine(p));
    if (p.netns) {
      await mkdir(path.join(proc, String(p.pid), 'ns'), { recursive: true });
      await symlink(p.netns, path.join(proc, String(p.pid), 'ns/net'));
    }
    if (p.rollup) {
      await put(
        proc,
        `${p.pid}/smaps_rollup`,
        `00400000-7ffd [rollup]\nRss: ${p.rollup.rss} kB\nPss: ${p.rollup.rss} kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: ${p.rollup.privateKb} kB\n`,
      );
    }
  }
  await symlink(String(self), path.join(proc, 'self'));
  await put(proc, `${self}/cgroup`, '0::/\n');
  await put(cg, 'cgroup.controllers', 'cpu memory\n');
  await put(cg, 'cpu.stat', 'usage_usec 5000000\n');
  await put(cg, 'cpu.max', 'max 100000\n');
  await put(cg, 'memory.current', `${300 * 2 ** 20}\n`);
  for (const [group, pids] of Object.entries(groups)) await put(cg, path.join(group, 'cgroup.procs'), pids);
  return { proc, cg, sys: path.join(root, 'sys') };
}

const figuresOf = (f: { proc: string; cg: string }) => new ContainerFiguresReader(new CgroupReader(f.cg, f.proc), f.proc).read();

/** init 1 → sh 5 → node 7 (self) → child 9; sibling 8 under init. */
const FAMILY: Proc[] = [
  { pid: 1, ppid: 0 },
  { pid: 5, ppid: 1 },
  { pid: 7, ppid: 5, ticks: [300, 100, 50, 50], rollup: { rss: 102400, privateKb: 80000 } },
  { pid: 9, ppid: 7, ticks: [150, 50, 0, 0], rollup: { rss: 40960, privateKb: 10240 } },
  { pid: 8, ppid: 1, ticks: [9000, 0, 0, 0] },
];

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-figures-'));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the process table', () => {
  it('reads /proc/<pid>/stat past a command name with spaces and parentheses, and finds the lineage', async () => {
    assert.deepEqual(parsePidStat(statLine({ pid: 7, ppid: 5, ticks: [1, 2, 3, 4] })), { ppid: 5, cpuTicks: 10 });
    assert.equal(parsePidStat('garbage'), undefined);
    const f = await fixture(FAMILY, 7, {});
    const table = (await readProcessTable(f.proc))!;
    const lineage = lineageOf(table, 7);
    assert.deepEqual([...lineage.ancestors].sort(), [1, 5]);
    assert.deepEqual([...lineage.descendants], [9]);
    // Own ticks and reaped children (500) plus the live child's (200), at 100 ticks a second.
    assert.equal(treeCpuSeconds(table, lineage), 7);
  });

  it("counts this process's RSS and its descendants' private pages", async () => {
    assert.deepEqual(parseSmapsRollup('Rss: 10 kB\nPss: 4 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 2 kB\n'), { rss: 10240, pss: 4096, uss: 3072 });
    const f = await fixture(FAMILY, 7, {});
    const table = (await readProcessTable(f.proc))!;
    assert.equal(await readTreeMemory(f.proc, lineageOf(table, 7)), (102400 + 10240) * 1024);
  });
});

describe('a cgroup of its own', () => {
  it('is one holding only this process, its ancestors and its descendants (in sub-groups too)', async () => {
    const f = await fixture(FAMILY, 7, { '': '1\n5\n7\n', worker: '9\n' });
    const figures = await figuresOf(f);
    assert.equal(figures.source, 'cgroup');
    assert.equal(figures.cpuSeconds, 5);
    assert.equal(figures.memoryUsed, 300 * 2 ** 20);
  });

  it("is not one that also holds a stranger (a sibling backend, another session's shell)", async () => {
    const f = await fixture(FAMILY, 7, { '': '1\n5\n7\n8\n' });
    const figures = await figuresOf(f);
    assert.equal(figures.source, 'process');
    assert.equal(figures.cpuSeconds, 7, "this process's tree, not the group's 5 s nor the sibling's");
    assert.equal(figures.memoryUsed, (102400 + 10240) * 1024);
  });

  it('is not one with a process outside this PID namespace (cgroup v2 lists it as 0)', async () => {
    const f = await fixture(FAMILY, 7, { '': '0\n7\n' });
    assert.equal((await figuresOf(f)).source, 'process');
  });

  it('is not one that does not hold this process (a mount that is not our group)', async () => {
    const f = await fixture(FAMILY, 7, { '': '1\n5\n' });
    assert.equal((await figuresOf(f)).source, 'process');
  });

  it('is not a machine-sized tree of groups, nor a group whose cgroup.procs cannot be read', async () => {
    const many: Record<string, string> = { '': '7\n' };
    for (let i = 0; i < 70; i++) many[`slice-${i}`] = '';
    const table: ProcessTable = new Map([
      [7, { ppid: 1, cpuTicks: 0 }],
      [1, { ppid: 0, cpuTicks: 0 }],
    ]);
    const lineage = lineageOf(table, 7);
    const f = await fixture(FAMILY, 7, many);
    assert.equal(await ownsGroups([f.cg], lineage), false);
    assert.equal(await ownsGroups([path.join(tmp, 'no-such-group')], lineage), false);
    assert.equal(await ownsGroups([], lineage), false);
  });

  it('on cgroup v1 needs both the cpuacct and the memory group to be its own', async () => {
    const root = path.join(tmp, 'v1');
    const proc = path.join(root, 'proc');
    for (const p of FAMILY) await put(proc, `${p.pid}/stat`, statLine(p));
    await symlink('7', path.join(proc, 'self'));
    // As on a machine where only memory is split per session: cpuacct's group is the root, shared with everyone.
    await put(proc, '7/cgroup', '4:memory:/session/s1\n2:cpuacct:/\n1:cpu:/\n');
    await put(root, 'cg/cpuacct/cpuacct.usage', '99000000000\n');
    await put(root, 'cg/cpuacct/cgroup.procs', '1\n5\n7\n8\n9\n');
    await put(root, 'cg/memory/memory.usage_in_bytes', '999\n');
    await put(root, 'cg/memory/session/s1/memory.usage_in_bytes', '123456789\n');
    await put(root, 'cg/memory/session/s1/cgroup.procs', '5\n7\n');
    const shared = await new ContainerFiguresReader(new CgroupReader(path.join(root, 'cg'), proc), proc).read();
    assert.equal(shared.source, 'process');
    // Once cpuacct is split too, the pair is the pod's.
    await put(root, 'cg/cpuacct/session/s1/cpuacct.usage', '2000000000\n');
    await put(root, 'cg/cpuacct/session/s1/cgroup.procs', '5\n7\n9\n');
    await put(proc, '7/cgroup', '4:memory:/session/s1\n2:cpuacct:/session/s1\n1:cpu:/\n');
    const own = await new ContainerFiguresReader(new CgroupReader(path.join(root, 'cg'), proc), proc).read();
    assert.equal(own.source, 'cgroup');
    assert.equal(own.cpuSeconds, 2);
    assert.equal(own.memoryUsed, 123456789);
  });

  it('is decided every period: a neighbour arriving switches to the process tree, with a gap rather than a jump', async () => {
    const f = await fixture(FAMILY, 7, { '': '1\n5\n7\n' });
    const collector = createSnapshotCollector({ podName: 'p', appStats: countingAppStats(), procRoot: f.proc, cgroupRoot: f.cg, sysRoot: f.sys });
    await collector.prime();
    await put(f.cg, 'cpu.stat', 'usage_usec 5100000\n');
    // Real time: a percentage is CPU over the wall time the collector reads from performance.now().
    await sleep(150);
    const alone = await collector.collect();
    assert.equal(alone['container-source'], 'cgroup');
    assert.ok((alone['container-cpu_percent_of_core'] as number) > 0);
    await put(f.cg, 'cgroup.procs', '1\n5\n7\n8\n');
    const joined = await collector.collect();
    assert.equal(joined['container-source'], 'process');
    assert.equal(joined['container-cpu_percent_of_core'], 0, 'the group and the tree count differently: no figure across the switch');
    await put(f.proc, '7/stat', statLine({ pid: 7, ppid: 5, ticks: [320, 100, 50, 50] }));
    await sleep(150); // Real time, as above.
    const next = await collector.collect();
    assert.equal(next['container-source'], 'process');
    assert.ok((next['container-cpu_percent_of_core'] as number) > 0, 'counts from the tree from then on');
  });
});

describe("the pod's own network", () => {
  it('is not its own when a process outside its lineage shares its network namespace', async () => {
    const f = await fixture(
      FAMILY.map((p) => ({ ...p, netns: p.pid === 8 ? 'net:[4026531999]' : 'net:[4026532500]' })),
      7,
      {},
    );
    const table = (await readProcessTable(f.proc))!;
    assert.equal(await sharesNetworkNamespace(f.proc, table, lineageOf(table, 7)), false, 'the sibling is in another namespace');
    await rm(path.join(f.proc, '8/ns/net'));
    await symlink('net:[4026532500]', path.join(f.proc, '8/ns/net'));
    assert.equal(await sharesNetworkNamespace(f.proc, table, lineageOf(table, 7)), true);
  });
});

describe("this machine's processes", () => {
  it("count a busy child's CPU and memory in this process's tree", async () => {
    // A child that spins for at most 10 s and ends with this test whatever happens.
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end) Math.sqrt(Math.random());'], { stdio: 'ignore' });
    try {
      const table0 = (await readProcessTable('/proc'))!;
      const lineage0 = lineageOf(table0, process.pid);
      assert.ok(lineage0.descendants.has(child.pid!), 'the child is a descendant');
      assert.ok(lineage0.ancestors.size > 0);
      const tree0 = treeCpuSeconds(table0, lineage0)!;
      const child0 = table0.get(child.pid!)!.cpuTicks;
      // Until the child has used a tenth of a second (on a loaded machine it may take a while).
      let table = table0;
      while ((table.get(child.pid!)?.cpuTicks ?? 0) - child0 < 10) {
        await sleep(50); // Real time: a real child's CPU ticks in /proc; nothing announces them.
        table = (await readProcessTable('/proc'))!;
      }
      const lineage = lineageOf(table, process.pid);
      const childSeconds = (table.get(child.pid!)!.cpuTicks - child0) / 100;
      assert.ok(treeCpuSeconds(table, lineage)! - tree0 >= childSeconds, "the tree's CPU includes the child's");
      const own = process.memoryUsage.rss();
      const tree = (await readTreeMemory('/proc', lineage))!;
      assert.ok(tree >= own * 0.9, `tree ${tree} against own RSS ${own}`);
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
  });
});
