/**
 * The container's own figures from its cgroup: fixture trees for cgroup v2
 * and v1 written here (the reader takes the cgroup mount and procfs as
 * roots), then a real read of this machine's /sys/fs/cgroup.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupReader, containerCpuPercents } from '../../src/metrics/container-cgroup.js';
import { PodNetworkReader } from '../../src/metrics/container-network.js';
import { createSnapshotCollector } from '../../src/metrics/snapshot.js';
import { requiredSnapshotFields } from '../../src/metrics/snapshot-contract.js';
import { countingAppStats } from './helpers.js';

let tmp: string;

async function put(root: string, rel: string, text: string): Promise<void> {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** The pod's processes in a fixture /proc: init (pid 1) and the backend (pid 7, `self`), as inside a container. */
async function putPodProcesses(proc: string, cgroupDir: string): Promise<void> {
  await put(proc, '1/stat', '1 (tini) S 0 1 1 0 -1 4194560 0 0 0 0 1 1 0 0 20 0 1 0 1 0 0\n');
  await put(proc, '7/stat', '7 (node) S 1 7 7 0 -1 4194560 0 0 0 0 50 10 0 0 20 0 11 0 2 0 0\n');
  await symlink('7', path.join(proc, 'self'));
  await put(cgroupDir, 'cgroup.procs', '1\n7\n');
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-cgroup-'));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('cgroup v2', () => {
  it('reads usage, the CPU quota and memory (working set: current minus inactive file)', async () => {
    const cg = path.join(tmp, 'v2/cgroup');
    const proc = path.join(tmp, 'v2/proc');
    // Inside a pod with a cgroup namespace, /proc/self/cgroup says "0::/" and the mount is the pod's own cgroup.
    await put(proc, 'self/cgroup', '0::/\n');
    await put(cg, 'cgroup.controllers', 'cpuset cpu io memory pids\n');
    await put(cg, 'cpu.stat', 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    await put(cg, 'cpu.max', '50000 100000\n');
    await put(cg, 'memory.current', '104857600\n');
    await put(cg, 'memory.max', '268435456\n');
    await put(cg, 'memory.stat', 'anon 50000000\nfile 40000000\ninactive_file 4857600\nactive_file 1000\n');
    const reading = await new CgroupReader(cg, proc).read();
    assert.equal(reading.version, 2);
    assert.equal(reading.cpuUsageSeconds, 2.5);
    assert.equal(reading.cpuLimitCores, 0.5);
    assert.equal(reading.memoryUsed, 104857600 - 4857600);
    assert.equal(reading.memoryLimit, 268435456);
  });

  it('follows /proc/self/cgroup to the process\'s own group, and "max" means no limit', async () => {
    const cg = path.join(tmp, 'v2-nested/cgroup');
    const proc = path.join(tmp, 'v2-nested/proc');
    await put(proc, 'self/cgroup', '0::/kubepods/pod1/abc\n');
    await put(cg, 'cgroup.controllers', 'cpu memory\n');
    // The root group has no memory.current; the process's group has.
    await put(cg, 'cpu.stat', 'usage_usec 999999999\n');
    await put(cg, 'kubepods/pod1/abc/cpu.stat', 'usage_usec 1000\n');
    await put(cg, 'kubepods/pod1/abc/cpu.max', 'max 100000\n');
    await put(cg, 'kubepods/pod1/abc/memory.current', '4096\n');
    await put(cg, 'kubepods/pod1/abc/memory.max', 'max\n');
    const reading = await new CgroupReader(cg, proc).read();
    assert.equal(reading.cpuUsageSeconds, 0.001);
    assert.equal(reading.cpuLimitCores, undefined);
    assert.equal(reading.memoryUsed, 4096, 'no memory.stat: the whole usage');
    assert.equal(reading.memoryLimit, undefined);
  });
});

describe('cgroup v1', () => {
  it('reads cpuacct.usage, the CFS quota and memory from their own hierarchies', async () => {
    const cg = path.join(tmp, 'v1/cgroup');
    const proc = path.join(tmp, 'v1/proc');
    // Docker without a cgroup namespace: the path names the container, the mount is already its group.
    await put(proc, 'self/cgroup', '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n');
    await put(cg, 'cpu,cpuacct/cpuacct.usage', '3000000000\n');
    await put(cg, 'cpu,cpuacct/cpu.cfs_quota_us', '150000\n');
    await put(cg, 'cpu,cpuacct/cpu.cfs_period_us', '100000\n');
    await put(cg, 'memory/memory.usage_in_bytes', '50000000\n');
    await put(cg, 'memory/memory.limit_in_bytes', '134217728\n');
    await put(cg, 'memory/memory.stat', 'cache 1000\ninactive_file 123\ntotal_inactive_file 10000000\n');
    const reading = await new CgroupReader(cg, proc).read();
    assert.equal(reading.version, 1);
    assert.equal(reading.cpuUsageSeconds, 3);
    assert.equal(reading.cpuLimitCores, 1.5);
    assert.equal(reading.memoryUsed, 40000000, 'usage minus total_inactive_file');
    assert.equal(reading.memoryLimit, 134217728);
  });

  it('treats quota -1 and the huge page-rounded limit as no limit, and finds a nested group', async () => {
    const cg = path.join(tmp, 'v1-nested/cgroup');
    const proc = path.join(tmp, 'v1-nested/proc');
    await put(proc, 'self/cgroup', '4:memory:/svc/x\n3:cpuacct:/\n2:cpu:/\n');
    await put(cg, 'cpuacct/cpuacct.usage', '5000\n');
    await put(cg, 'cpu/cpu.cfs_quota_us', '-1\n');
    await put(cg, 'cpu/cpu.cfs_period_us', '100000\n');
    await put(cg, 'memory/memory.usage_in_bytes', '999\n');
    await put(cg, 'memory/svc/x/memory.usage_in_bytes', '2048\n');
    await put(cg, 'memory/svc/x/memory.limit_in_bytes', '9223372036854771712\n');
    const reading = await new CgroupReader(cg, proc).read();
    assert.equal(reading.cpuUsageSeconds, 5000 / 1e9);
    assert.equal(reading.cpuLimitCores, undefined);
    assert.equal(reading.memoryUsed, 2048);
    assert.equal(reading.memoryLimit, undefined);
  });

  it('reports nothing it cannot read (no cgroup mounted)', async () => {
    const reading = await new CgroupReader(path.join(tmp, 'nothing-here'), path.join(tmp, 'no-proc')).read();
    assert.equal(reading.version, undefined);
    assert.equal(reading.cpuUsageSeconds, undefined);
    assert.equal(reading.memoryUsed, undefined);
  });
});

describe('container CPU percentages', () => {
  it('are of the limit and of one core', () => {
    // 0.3 s of CPU in 1 s of wall time, limit 0.5 cores: 60 % of the limit, 30 % of a core.
    assert.deepEqual(containerCpuPercents(1.0, 1.3, 1, 0.5), { ofLimit: 60, ofCore: 30 });
    // Two cores busy for the whole second with a limit of 4 cores.
    assert.deepEqual(containerCpuPercents(0, 2, 1, 4), { ofLimit: 50, ofCore: 200 });
    // A counter that went backwards, or no time elapsed: 0, not a negative or infinite figure.
    assert.deepEqual(containerCpuPercents(5, 4, 1, 1), { ofLimit: 0, ofCore: 0 });
    assert.deepEqual(containerCpuPercents(1, 2, 0, 1), { ofLimit: 0, ofCore: 0 });
    // More than the quota allows is the counter and the clock read a moment apart: capped at the limit.
    assert.deepEqual(containerCpuPercents(0, 1.02, 1, 1), { ofLimit: 100, ofCore: 100 });
  });
});

describe('pod network', () => {
  it("counts an interface as the pod's when it is one end of a pair (iflink differs from ifindex)", async () => {
    const sys = path.join(tmp, 'net/sys');
    await put(sys, 'class/net/eth0/ifindex', '3\n');
    await put(sys, 'class/net/eth0/iflink', '17\n');
    await put(sys, 'class/net/enp3s0/ifindex', '2\n');
    await put(sys, 'class/net/enp3s0/iflink', '2\n');
    const reader = new PodNetworkReader(sys);
    assert.equal(await reader.isPairedInterface('eth0'), true);
    assert.equal(await reader.isPairedInterface('enp3s0'), false, "a physical NIC is the node's");
    assert.equal(await reader.isPairedInterface('missing0'), false);
    assert.equal(await reader.isPairedInterface(undefined), false);
  });
});

describe('snapshot collector over a fixture pod', () => {
  it("reports the container's CPU over the period, its memory, its own network counters and its node", async () => {
    const root = path.join(tmp, 'pod');
    const cg = path.join(root, 'cgroup');
    const proc = path.join(root, 'proc');
    const sys = path.join(root, 'sys');
    await putPodProcesses(proc, cg);
    await put(proc, 'self/cgroup', '0::/\n');
    await put(proc, 'sys/kernel/random/boot_id', '0123abcd-1111-2222-3333-444455556666\n');
    await put(proc, 'stat', 'cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 10 0 10 100 0 0 0 0 0 0\n');
    await put(proc, 'net/dev', 'Inter-| R\n face |b\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n');
    await put(sys, 'class/net/eth0/ifindex', '3\n');
    await put(sys, 'class/net/eth0/iflink', '9\n');
    await put(cg, 'cgroup.controllers', 'cpu memory\n');
    await put(cg, 'cpu.stat', 'usage_usec 1000000\n');
    await put(cg, 'cpu.max', '50000 100000\n');
    await put(cg, 'memory.current', '300000000\n');
    await put(cg, 'memory.max', '536870912\n');
    const collector = createSnapshotCollector({ podName: 'p', appStats: countingAppStats(), procRoot: proc, sysRoot: sys, cgroupRoot: cg });
    await collector.prime();
    // 0.1 s of CPU, then at least 0.2 s of wall time: at most 50 % of a core, twice that of the 0.5-core limit.
    await put(cg, 'cpu.stat', 'usage_usec 1100000\n');
    // Real time: the collector divides CPU by wall time it reads from performance.now() (no clock to inject).
    await sleep(200);
    const s = await collector.collect();
    const ofCore = s['container-cpu_percent_of_core'] as number;
    assert.ok(ofCore > 10 && ofCore <= 50, `of a core: ${ofCore}`);
    assert.ok(Math.abs((s['container-cpu_percent'] as number) - Math.min(100, ofCore * 2)) <= 0.11, 'of the limit');
    assert.equal(s['container-cpu_limit'], 0.5);
    assert.equal(s['container-memory_used'], 300000000);
    assert.equal(s['container-memory_limit'], 536870912);
    assert.equal(s['container-net_io_counters-bytes_recv'], 1000);
    assert.equal(s['container-net_io_counters-bytes_sent'], 2000);
    assert.equal(s['container-net_io_counters-packets_sent'], 20);
    assert.equal(s.node, 'node-0123abcd');
    assert.equal(s['container-source'], 'cgroup', "the group holds only the pod's processes");
    assert.equal(s['container-network_source'], 'interface');
    assert.deepEqual(Object.keys(s).sort(), requiredSnapshotFields(1, { podNetwork: true }).sort());
  });
});

describe('a cgroup read that fails for one period', () => {
  it('leaves a gap (0) rather than mixing in another source, and the next period counts from the last good reading', async () => {
    const cg = path.join(tmp, 'flaky/cgroup');
    const proc = path.join(tmp, 'flaky/proc');
    await putPodProcesses(proc, cg);
    await put(proc, 'self/cgroup', '0::/\n');
    await put(cg, 'cgroup.controllers', 'cpu\n');
    await put(cg, 'cpu.max', 'max 100000\n');
    await put(cg, 'cpu.stat', 'usage_usec 1000000\n');
    const collector = createSnapshotCollector({
      podName: 'p',
      appStats: countingAppStats(),
      procRoot: proc,
      sysRoot: path.join(tmp, 'flaky/sys'),
      cgroupRoot: cg,
    });
    await collector.prime();
    // Real time: the later figure is CPU over the wall time since this good reading (performance.now()).
    await sleep(100);
    // Caught half-written (a reader can see the file truncated).
    await put(cg, 'cpu.stat', '');
    const during = await collector.collect();
    assert.equal(during['container-cpu_percent_of_core'], 0);
    assert.equal(during['container-source'], 'cgroup', 'a failed read does not switch sources');
    await put(cg, 'cpu.stat', 'usage_usec 1100000\n');
    await sleep(100); // Real time, as above: the span the percentage is taken over.
    const afterwards = await collector.collect();
    const ofCore = afterwards['container-cpu_percent_of_core'] as number;
    // 0.1 s of CPU since the good reading at least 0.2 s ago.
    assert.ok(ofCore > 10 && ofCore <= 50, `of a core: ${ofCore}`);
  });
});

describe("this machine's cgroup", () => {
  it('reads real figures from /sys/fs/cgroup, and usage grows while this process works', async () => {
    const reader = new CgroupReader('/sys/fs/cgroup', '/proc');
    const first = await reader.read();
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    assert.equal(first.version, v2 ? 2 : 1);
    assert.ok(first.cpuUsageSeconds !== undefined && first.cpuUsageSeconds > 0, `cpu usage ${first.cpuUsageSeconds}`);
    assert.ok(first.memoryUsed !== undefined && first.memoryUsed > 0, `memory used ${first.memoryUsed}`);
    if (first.memoryLimit !== undefined) assert.ok(first.memoryLimit >= first.memoryUsed);
    if (first.cpuLimitCores !== undefined) assert.ok(first.cpuLimitCores > 0);
    // Burn some CPU so the group's counter must move.
    const until = Date.now() + 150;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    assert.ok(x > 0);
    await sleep(10); // Real time: lets the kernel's cgroup counter catch up with the CPU just burnt.
    const second = await reader.read();
    assert.ok(second.cpuUsageSeconds! > first.cpuUsageSeconds, 'the counter moved');
  });
});
