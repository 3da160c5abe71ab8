/**
 * Builds one snapshot (host + application figures) per call. Rates and
 * percentages are over the interval since the previous call, so the hub calls
 * `collect()` once per period and the figures cover exactly that period.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { corePercents, readCoreTimes, readCpuFreqMhz, type CoreTimes } from './host-cpu.js';
import { readVirtualMemory } from './host-memory.js';
import { MainInterfaceReader } from './host-network.js';
import { countPids } from './host-processes.js';
import { VIRTUAL_MEMORY_FIELDS, type AppStats, type Snapshot } from './snapshot-contract.js';
import { agentTimestampNow } from './timestamp.js';

export interface SnapshotCollectorOptions {
  podName: string;
  appStats: () => AppStats | Promise<AppStats>;
  logger?: Logger | undefined;
  /** Where procfs is mounted; tests point it at a fixture folder. */
  procRoot?: string | undefined;
  sysRoot?: string | undefined;
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

export function createSnapshotCollector(options: SnapshotCollectorOptions): SnapshotCollector {
  const procRoot = options.procRoot ?? '/proc';
  const sysRoot = options.sysRoot ?? '/sys';
  const appStatsTimeoutMs = options.appStatsTimeoutMs ?? 2000;
  const network = new MainInterfaceReader(procRoot, options.networkInterface);

  let baseline: { cores: CoreTimes[]; processed: number; at: number } | undefined;
  let lastApp: AppStats = ZERO_APP_STATS;
  let appStatsFailing = false;

  async function readAppStats(): Promise<AppStats> {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A slow or hung callback must not hold the snapshot back forever.
      const stats = await Promise.race([
        Promise.resolve().then(() => options.appStats()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`appStats took over ${appStatsTimeoutMs} ms`)), appStatsTimeoutMs);
        }),
      ]);
      appStatsFailing = false;
      lastApp = stats;
      return stats;
    } catch (err) {
      // Log the first failure of a streak only: the callback runs every period.
      if (!appStatsFailing) options.logger?.warn({ err }, 'metrics: appStats failed; using last known values');
      appStatsFailing = true;
      return lastApp;
    } finally {
      clearTimeout(timer);
    }
  }

  async function prime(): Promise<void> {
    const [cores, app] = await Promise.all([readCoreTimes(procRoot), readAppStats()]);
    baseline = { cores, processed: app.processedCount, at: performance.now() };
  }

  async function collect(): Promise<Snapshot> {
    const [cores, freq, memory, net, pids, app] = await Promise.all([
      readCoreTimes(procRoot),
      readCpuFreqMhz(procRoot, sysRoot),
      readVirtualMemory(procRoot),
      network.read(),
      countPids(procRoot),
      readAppStats(),
    ]);
    const at = performance.now();
    const percents = baseline ? corePercents(baseline.cores, cores) : cores.map(() => 0);
    const elapsedSeconds = baseline ? (at - baseline.at) / 1000 : 0;
    const processedDelta = baseline ? app.processedCount - baseline.processed : 0;
    // A counter that went backwards (pipeline restarted) yields 0, not a negative rate.
    const throughput = elapsedSeconds > 0 && processedDelta > 0 ? processedDelta / elapsedSeconds : 0;
    baseline = { cores, processed: app.processedCount, at };

    const snapshot: Snapshot = { timestamp: agentTimestampNow(), pod: options.podName };
    percents.forEach((p, i) => {
      snapshot[`cpu_percent-${i}`] = p;
    });
    snapshot.cpu_freq_current = toFloat(freq);
    for (const field of VIRTUAL_MEMORY_FIELDS) {
      const v = memory[field];
      snapshot[`virtual_memory-${field}`] = field === 'percent' ? toFloat(v) : toCount(v);
    }
    snapshot['net_io_counters_eth0-bytes_sent'] = toCount(net.bytes_sent);
    snapshot['net_io_counters_eth0-bytes_recv'] = toCount(net.bytes_recv);
    snapshot['net_io_counters_eth0-packets_sent'] = toCount(net.packets_sent);
    snapshot['net_io_counters_eth0-packets_recv'] = toCount(net.packets_recv);
    snapshot.n_pids = toCount(pids);
    snapshot['app-active_threads'] = toCount(app.activeThreads);
    snapshot['app-total_threads'] = toCount(app.totalThreads);
    snapshot['app-queue_size'] = toCount(app.queueSize);
    snapshot['app-processed_count'] = toCount(app.processedCount);
    snapshot['app-failed_count'] = toCount(app.failedCount);
    snapshot['app-avg_process_time'] = toFloat(app.avgProcessTimeSeconds);
    snapshot['app-throughput'] = throughput;
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
