/**
 * Builds one snapshot (host, container and application figures) per call.
 * Rates and percentages are over the interval since the previous call, so the
 * hub calls `collect()` once per period and the figures cover exactly that
 * period.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ContainerSource } from '../contract/metrics.js';
import { CgroupReader, containerCpuPercents } from './container-cgroup.js';
import { ContainerFiguresReader, type ContainerFigures } from './container-figures.js';
import { PodNetworkReader, sharesNetworkNamespace } from './container-network.js';
import { corePercents, readCoreTimes, readCpuFreqMhz, type CoreTimes } from './host-cpu.js';
import { readVirtualMemory, type VirtualMemory } from './host-memory.js';
import { MainInterfaceReader, type NetCounters } from './host-network.js';
import { countPids } from './host-processes.js';
import { readNodeName } from './node-name.js';
import { CONTAINER_NET_PREFIX, NET_FIELDS, VIRTUAL_MEMORY_FIELDS, type AppStats, type Snapshot } from './snapshot-contract.js';
import { agentTimestampNow } from './timestamp.js';

export interface SnapshotCollectorOptions {
  podName: string;
  appStats: () => AppStats | Promise<AppStats>;
  logger?: Logger | undefined;
  /** Where procfs is mounted; tests point it at a fixture folder. */
  procRoot?: string | undefined;
  sysRoot?: string | undefined;
  /** Where the cgroup file system is mounted; default `<sysRoot>/fs/cgroup`. */
  cgroupRoot?: string | undefined;
  /** The node's name for the snapshot's `node` field (NODE_NAME); default: derived from the kernel's boot id. */
  nodeName?: string | undefined;
  /** Forces the interface behind `net_io_counters_eth0-*` instead of the automatic choice. */
  networkInterface?: string | undefined;
  /** Upper bound on how long one appStats() call may take before last known values are used. */
  appStatsTimeoutMs?: number | undefined;
}

export interface SnapshotCollector {
  /** Takes the baseline readings the first snapshot's percentages and throughput are relative to. */
  prime(): Promise<void>;
  collect(): Promise<Snapshot>;
  /** The interface the network counters come from (known after the first reading). */
  readonly networkInterface: string | undefined;
}

const ZERO_APP_STATS: AppStats = {
  activeThreads: 0,
  totalThreads: 0,
  queueSize: 0,
  processedCount: 0,
  failedCount: 0,
  avgProcessTimeSeconds: 0,
};

/** Integer fields must stay integers on the wire, whatever the callback hands us. */
const toCount = (n: number): number => (Number.isFinite(n) ? Math.max(0, Math.round(n)) : 0);
const toFloat = (n: number): number => (Number.isFinite(n) ? n : 0);

/** Cumulative readings the next snapshot's rates are relative to. */
interface Baseline {
  cores: CoreTimes[];
  processed: number;
  /**
   * The pod's last known CPU time, where it came from and when it was read;
   * kept across a period whose read failed. A change of source (a shared
   * group emptied out, a neighbour arrived) starts over: the counters differ.
   */
  containerCpu: { seconds: number; source: ContainerSource; at: number } | undefined;
  at: number;
}

function cpuSince(baseline: Baseline | undefined, container: ContainerFigures, at: number): { ofLimit: number; ofCore: number } {
  const before = baseline?.containerCpu;
  if (before === undefined || container.cpuSeconds === undefined || before.source !== container.source) return { ofLimit: 0, ofCore: 0 };
  return containerCpuPercents(before.seconds, container.cpuSeconds, (at - before.at) / 1000, container.limitCores);
}

function containerCpuBaseline(baseline: Baseline | undefined, container: ContainerFigures, at: number): Baseline['containerCpu'] {
  return container.cpuSeconds === undefined ? baseline?.containerCpu : { seconds: container.cpuSeconds, source: container.source, at };
}

function putHostFields(snapshot: Snapshot, percents: number[], freq: number, memory: VirtualMemory, net: NetCounters, pids: number): void {
  percents.forEach((p, i) => {
    snapshot[`cpu_percent-${i}`] = p;
  });
  snapshot.cpu_freq_current = toFloat(freq);
  for (const field of VIRTUAL_MEMORY_FIELDS) {
    const v = memory[field];
    snapshot[`virtual_memory-${field}`] = field === 'percent' ? toFloat(v) : toCount(v);
  }
  for (const field of NET_FIELDS) snapshot[`net_io_counters_eth0-${field}`] = toCount(net[field]);
  snapshot.n_pids = toCount(pids);
}

function putAppFields(snapshot: Snapshot, app: AppStats, throughput: number): void {
  snapshot['app-active_threads'] = toCount(app.activeThreads);
  snapshot['app-total_threads'] = toCount(app.totalThreads);
  snapshot['app-queue_size'] = toCount(app.queueSize);
  snapshot['app-processed_count'] = toCount(app.processedCount);
  snapshot['app-failed_count'] = toCount(app.failedCount);
  snapshot['app-avg_process_time'] = toFloat(app.avgProcessTimeSeconds);
  snapshot['app-throughput'] = throughput;
}

function putContainerFields(
  snapshot: Snapshot,
  container: ContainerFigures,
  cpu: { ofLimit: number; ofCore: number },
  nodeMemory: number,
  podNet: NetCounters | undefined,
): void {
  snapshot['container-source'] = container.source;
  snapshot['container-cpu_percent'] = toFloat(cpu.ofLimit);
  snapshot['container-cpu_percent_of_core'] = toFloat(cpu.ofCore);
  snapshot['container-cpu_limit'] = toFloat(container.limitCores);
  snapshot['container-memory_used'] = toCount(container.memoryUsed);
  snapshot['container-memory_limit'] = toCount(container.memoryLimit ?? nodeMemory);
  snapshot['container-network_source'] = podNet ? 'interface' : 'none';
  if (podNet) for (const field of NET_FIELDS) snapshot[`${CONTAINER_NET_PREFIX}${field}`] = toCount(podNet[field]);
}

/** The pod's own interface counters: a paired interface in a network namespace no stranger shares. */
async function podNetworkOf(paired: boolean, procRoot: string, container: ContainerFigures, net: NetCounters): Promise<NetCounters | undefined> {
  if (!paired || !container.scan) return undefined;
  return (await sharesNetworkNamespace(procRoot, container.scan.table, container.scan.lineage)) ? undefined : net;
}

/**
 * The pipeline's figures, at most `appStatsTimeoutMs` late: a slow or hung
 * callback must not hold the snapshot back forever, and a failing one gives
 * its last known values.
 */
function appStatsReader(options: SnapshotCollectorOptions): () => Promise<AppStats> {
  const timeoutMs = options.appStatsTimeoutMs ?? 2000;
  let lastApp: AppStats = ZERO_APP_STATS;
  let failing = false;
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const stats = await Promise.race([
        Promise.resolve().then(() => options.appStats()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`appStats took over ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      failing = false;
      lastApp = stats;
      return stats;
    } catch (err) {
      // Log the first failure of a streak only: the callback runs every period.
      if (!failing) options.logger?.warn({ err }, 'metrics: appStats failed; using last known values');
      failing = true;
      return lastApp;
    } finally {
      clearTimeout(timer);
    }
  };
}

export function createSnapshotCollector(options: SnapshotCollectorOptions): SnapshotCollector {
  const procRoot = options.procRoot ?? '/proc';
  const sysRoot = options.sysRoot ?? '/sys';
  const network = new MainInterfaceReader(procRoot, options.networkInterface);
  const containerFigures = new ContainerFiguresReader(new CgroupReader(options.cgroupRoot ?? path.join(sysRoot, 'fs/cgroup'), procRoot), procRoot);
  const podNetwork = new PodNetworkReader(sysRoot);
  const nodeName = readNodeName(procRoot, options.nodeName);

  const readAppStats = appStatsReader(options);
  let baseline: Baseline | undefined;

  async function prime(): Promise<void> {
    const [cores, app, [container, containerAt]] = await Promise.all([
      readCoreTimes(procRoot),
      readAppStats(),
      containerFigures.read().then((reading) => [reading, performance.now()] as const),
    ]);
    const at = performance.now();
    baseline = { cores, processed: app.processedCount, containerCpu: containerCpuBaseline(undefined, container, containerAt), at };
  }

  async function collect(): Promise<Snapshot> {
    const [cores, freq, memory, net, pids, app, [container, containerAt], node] = await Promise.all([
      readCoreTimes(procRoot),
      readCpuFreqMhz(procRoot, sysRoot),
      readVirtualMemory(procRoot),
      network.read(),
      countPids(procRoot),
      readAppStats(),
      // Timed on its own: the other reads (appStats above all) may finish much later.
      containerFigures.read().then((reading) => [reading, performance.now()] as const),
      nodeName,
    ]);
    const at = performance.now();
    const elapsedSeconds = baseline ? (at - baseline.at) / 1000 : 0;
    const processedDelta = baseline ? app.processedCount - baseline.processed : 0;
    // A counter that went backwards (pipeline restarted) yields 0, not a negative rate.
    const throughput = elapsedSeconds > 0 && processedDelta > 0 ? processedDelta / elapsedSeconds : 0;
    const cpu = cpuSince(baseline, container, containerAt);
    const percents = baseline ? corePercents(baseline.cores, cores) : cores.map(() => 0);
    baseline = { cores, processed: app.processedCount, containerCpu: containerCpuBaseline(baseline, container, containerAt), at };

    const snapshot: Snapshot = { timestamp: agentTimestampNow(), pod: options.podName, node };
    putHostFields(snapshot, percents, freq, memory, net, pids);
    putAppFields(snapshot, app, throughput);
    const podNet = await podNetworkOf(await podNetwork.isPairedInterface(network.interfaceName), procRoot, container, net);
    putContainerFields(snapshot, container, cpu, memory.total, podNet);
    return snapshot;
  }

  return {
    prime,
    collect,
    get networkInterface() {
      return network.interfaceName;
    },
  };
}
