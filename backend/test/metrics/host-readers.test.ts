/**
 * The /proc parsers against hand-made files whose expected values follow
 * psutil's formulas, and the collector run over a fixture procfs.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { corePercents, parseCpuinfoMhz, parseProcStat, readCpuFreqMhz } from '../../src/metrics/host-cpu.js';
import { parseMeminfo, virtualMemoryFromMeminfo } from '../../src/metrics/host-memory.js';
import { chooseMainInterface, parseDefaultRouteInterface, parseNetDev, type NetCounters } from '../../src/metrics/host-network.js';
import { countPids } from '../../src/metrics/host-processes.js';
import { createSnapshotCollector } from '../../src/metrics/snapshot.js';

const STAT_1 = `cpu  300 0 200 1000 100 0 0 0 0 0
cpu0 100 0 100 500 50 0 0 0 0 0
cpu1 200 0 100 500 50 0 0 0 20 0
intr 1 2 3
`;
// cpu0: +60 busy (user), +40 idle, +0 iowait → 60.0 %.
// cpu1: +10 user of which guest +10 (guest is inside user, so not counted twice), +20 iowait, +70 idle → 10/100.
const STAT_2 = `cpu  370 0 200 1110 120 0 0 0 10 0
cpu0 160 0 100 540 50 0 0 0 0 0
cpu1 210 0 100 570 70 0 0 0 30 0
intr 1 2 3
`;

const MEMINFO = `MemTotal:        1000000 kB
MemFree:          200000 kB
MemAvailable:     600000 kB
Buffers:           50000 kB
Cached:           300000 kB
SwapCached:            0 kB
Active:           400000 kB
Inactive:         250000 kB
Shmem:             10000 kB
SReclaimable:      40000 kB
HugePages_Total:       0
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   60868     906    0    0    0     0          0         0    60868     906    0    0    0     0       0          0
 wlan0:    5000      50    0    0    0     0          0         0     4000      40    0    0    0     0       0          0
enp3s0:1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
`;

const ROUTE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
wlan0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
enp3s0	00000000	010200C0	0003	0	0	100	00000000	0	0	0
wlan0	00000000	010200C0	0003	0	0	600	00000000	0	0	0
`;

describe('CPU', () => {
  it('computes per-core busy percentages like psutil (guest not counted twice, iowait idle)', () => {
    const before = parseProcStat(STAT_1);
    const after = parseProcStat(STAT_2);
    assert.equal(before.length, 2);
    assert.deepEqual(corePercents(before, after), [60, 10]);
  });

  it('gives 0 for a core with no elapsed time or no baseline', () => {
    const cores = parseProcStat(STAT_1);
    assert.deepEqual(corePercents(cores, cores), [0, 0]);
    assert.deepEqual(corePercents([], cores), [0, 0]);
  });

  it('averages the cpu MHz lines of /proc/cpuinfo', () => {
    assert.equal(parseCpuinfoMhz('processor: 0\ncpu MHz\t\t: 1000.5\nprocessor: 1\ncpu MHz\t\t: 2000.5\n'), 1500.5);
    assert.equal(parseCpuinfoMhz('processor: 0\nBogoMIPS: 50\n'), undefined);
  });
});

describe('memory', () => {
  it('follows psutil.virtual_memory: cached includes SReclaimable, used excludes buffers and cache', () => {
    const vm = virtualMemoryFromMeminfo(parseMeminfo(MEMINFO));
    const k = 1024;
    assert.deepEqual(vm, {
      total: 1_000_000 * k,
      available: 600_000 * k,
      percent: 40,
      used: (1_000_000 - 200_000 - 50_000 - 340_000) * k,
      free: 200_000 * k,
      buffers: 50_000 * k,
      cached: 340_000 * k,
      shared: 10_000 * k,
      active: 400_000 * k,
      inactive: 250_000 * k,
    });
  });
});

describe('network', () => {
  const counters = parseNetDev(NET_DEV);

  it('reads receive and transmit columns, with or without a space after the colon', () => {
    assert.deepEqual(counters.get('wlan0'), { bytes_recv: 5000, packets_recv: 50, bytes_sent: 4000, packets_sent: 40 });
    assert.deepEqual(counters.get('enp3s0'), { bytes_recv: 1000, packets_recv: 10, bytes_sent: 2000, packets_sent: 20 });
  });

  it('prefers eth0, then the default route with the lowest metric, then the busiest non-loopback interface', () => {
    const zero: NetCounters = { bytes_sent: 0, bytes_recv: 0, packets_sent: 0, packets_recv: 0 };
    assert.equal(parseDefaultRouteInterface(ROUTE), 'enp3s0');
    assert.equal(chooseMainInterface(new Map([...counters, ['eth0', zero]]), 'enp3s0'), 'eth0');
    assert.equal(chooseMainInterface(counters, 'enp3s0'), 'enp3s0');
    assert.equal(chooseMainInterface(counters, undefined), 'wlan0');
    assert.equal(chooseMainInterface(new Map([['lo', zero]]), undefined), undefined);
  });
});

describe('collector over a fixture procfs', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-proc-'));
    await mkdir(path.join(root, 'proc/net'), { recursive: true });
    await mkdir(path.join(root, 'sys'), { recursive: true });
    for (const dir of ['1', '42', '1234', 'self', 'net', 'sys']) await mkdir(path.join(root, 'proc', dir), { recursive: true });
    await writeFile(path.join(root, 'proc/stat'), STAT_1);
    await writeFile(path.join(root, 'proc/meminfo'), MEMINFO);
    await writeFile(path.join(root, 'proc/net/dev'), NET_DEV);
    await writeFile(path.join(root, 'proc/net/route'), ROUTE);
    await writeFile(path.join(root, 'proc/cpuinfo'), 'processor\t: 0\ncpu MHz\t\t: 1800.000\n');
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('counts numeric /proc entries as processes', async () => {
    assert.equal(await countPids(path.join(root, 'proc')), 3);
  });

  it('prefers cpufreq policies (kHz) over /proc/cpuinfo', async () => {
    const sys = path.join(root, 'sys-with-cpufreq');
    for (const [policy, khz] of [
      ['policy0', '1000000'],
      ['policy1', '3000000'],
    ] as const) {
      await mkdir(path.join(sys, 'devices/system/cpu/cpufreq', policy), { recursive: true });
      await writeFile(path.join(sys, 'devices/system/cpu/cpufreq', policy, 'scaling_cur_freq'), `${khz}\n`);
    }
    assert.equal(await readCpuFreqMhz(path.join(root, 'proc'), sys), 2000);
    assert.equal(await readCpuFreqMhz(path.join(root, 'proc'), path.join(root, 'sys')), 1800);
  });

  it('builds a snapshot from the files, with the default-route interface behind the eth0 names', async () => {
    const collector = createSnapshotCollector({
      podName: 'fixture',
      procRoot: path.join(root, 'proc'),
      sysRoot: path.join(root, 'sys'),
      appStats: () => ({ activeThreads: 1, totalThreads: 4, queueSize: 0, processedCount: 10, failedCount: 0, avgProcessTimeSeconds: 0.1 }),
    });
    await collector.prime();
    await writeFile(path.join(root, 'proc/stat'), STAT_2);
    const s = await collector.collect();
    assert.equal(collector.networkInterface, 'enp3s0');
    assert.equal(s['cpu_percent-0'], 60);
    assert.equal(s['cpu_percent-1'], 10);
    assert.equal(s.cpu_freq_current, 1800);
    assert.equal(s['virtual_memory-cached'], 340_000 * 1024);
    assert.equal(s['net_io_counters_eth0-bytes_sent'], 2000);
    assert.equal(s['net_io_counters_eth0-packets_recv'], 10);
    assert.equal(s.n_pids, 3);
    // Nothing processed since the baseline: throughput is 0, not a division artefact.
    assert.equal(s['app-throughput'], 0);
  });
});
