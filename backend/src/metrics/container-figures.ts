/**
 * The pod's own CPU time and memory, wherever the backend runs: from its
 * cgroup when that group is its own (a Kubernetes or Podman container; see
 * cgroup-ownership.ts), else from its own process tree (/proc/<pid>/stat and
 * smaps_rollup), since a shared group's counters, like /proc/stat and
 * /proc/meminfo, are other processes' too. Decided again every reading: a
 * shared group may empty out, or a neighbour arrive.
 *
 * Limits may come from a shared group (a quota applies to everyone in it), so
 * the CPU limit is the group's quota or the cores this process may run on,
 * and the memory limit the group's, or libuv's (process.constrainedMemory()).
 */
import os from 'node:os';
import type { ContainerSource } from '../contract/metrics.js';
import { ownsGroups } from './cgroup-ownership.js';
import type { CgroupReader, CgroupReading } from './container-cgroup.js';
import { readTreeMemory } from './process-memory.js';
import { lineageOf, readProcessTable, selfPid, treeCpuSeconds, type Lineage, type ProcessTable } from './process-table.js';

export interface ContainerFigures {
  source: ContainerSource;
  /** Cumulative CPU seconds; undefined when this period's read failed (a gap, not a jump). */
  cpuSeconds: number | undefined;
  limitCores: number;
  memoryUsed: number;
  /** undefined: no limit (the node's memory is then the limit). */
  memoryLimit: number | undefined;
  /** The /proc scan and this process's relatives, for the network namespace test; undefined without /proc. */
  scan: { table: ProcessTable; lineage: Lineage } | undefined;
}

/** Anything this large is "no limit" (cgroup v1's page-rounded 2^63, libuv's UINT64_MAX). */
const UNLIMITED_BYTES = 2 ** 60;

function processMemoryLimit(): number | undefined {
  const limit = process.constrainedMemory();
  return limit > 0 && limit < UNLIMITED_BYTES ? limit : undefined;
}

function limitCores(group: CgroupReading): number {
  const cores = os.availableParallelism();
  return group.cpuLimitCores === undefined ? cores : Math.min(cores, group.cpuLimitCores);
}

/** Without /proc (macOS, Windows): this process alone, as Node sees it. */
function nodeProcessFigures(group: CgroupReading): ContainerFigures {
  const own = process.cpuUsage();
  return {
    source: 'process',
    cpuSeconds: (own.user + own.system) / 1e6,
    limitCores: limitCores(group),
    memoryUsed: process.memoryUsage.rss(),
    memoryLimit: group.memoryLimit ?? processMemoryLimit(),
    scan: undefined,
  };
}

export class ContainerFiguresReader {
  constructor(
    private readonly cgroup: CgroupReader,
    private readonly procRoot: string,
  ) {}

  async read(): Promise<ContainerFigures> {
    const [table, self, group, dirs] = await Promise.all([
      readProcessTable(this.procRoot),
      selfPid(this.procRoot),
      this.cgroup.read(),
      this.cgroup.usageGroups(),
    ]);
    if (!table) return nodeProcessFigures(group);
    const lineage = lineageOf(table, self);
    if (group.version !== undefined && (await ownsGroups(dirs, lineage))) {
      return {
        source: 'cgroup',
        // A counter caught half-written is a gap in this period, not a reason to switch sources.
        cpuSeconds: group.cpuUsageSeconds,
        limitCores: limitCores(group),
        // v1 without a memory hierarchy: the process tree is the best there is.
        memoryUsed: group.memoryUsed ?? (await readTreeMemory(this.procRoot, lineage)) ?? process.memoryUsage.rss(),
        memoryLimit: group.memoryLimit,
        scan: { table, lineage },
      };
    }
    const memory = await readTreeMemory(this.procRoot, lineage);
    return {
      source: 'process',
      cpuSeconds: treeCpuSeconds(table, lineage),
      limitCores: limitCores(group),
      memoryUsed: memory ?? process.memoryUsage.rss(),
      memoryLimit: group.memoryLimit ?? processMemoryLimit(),
      scan: { table, lineage },
    };
  }
}
