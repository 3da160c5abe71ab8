/**
 * The container's own CPU and memory from its cgroup, v2 (unified) or v1.
 *
 * Why not /proc: inside a container /proc/stat and /proc/meminfo show the
 * node, so two pods on one node would report identical figures. The cgroup
 * accounts for exactly the processes of this container.
 *
 * Which group: /proc/self/cgroup names the process's group relative to the
 * hierarchy's root. With a cgroup namespace (the Kubernetes default on v2)
 * that is "/" and the mount is the container's group; without one (Docker on
 * v1) the path names the container while the mount already *is* its group.
 * So the path is tried under the mount first, then the mount itself, the
 * way runc and the Go cgroup libraries resolve it.
 *
 * Whether that group is the pod's own (and not a login session's, a test
 * runner's or the whole machine's) is decided in cgroup-ownership.ts; this
 * file only reads it.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CgroupReading {
  /** undefined when no cgroup is readable (not Linux, or nothing mounted). */
  version: 1 | 2 | undefined;
  /** Cumulative CPU time of the group, in seconds. */
  cpuUsageSeconds: number | undefined;
  /** The CFS quota in cores (quota / period); undefined when unlimited. */
  cpuLimitCores: number | undefined;
  /** Working set in bytes: usage minus inactive file cache, as the kubelet and `docker stats` count it. */
  memoryUsed: number | undefined;
  /** The memory limit in bytes; undefined when unlimited. */
  memoryLimit: number | undefined;
}

const NOTHING: CgroupReading = {
  version: undefined,
  cpuUsageSeconds: undefined,
  cpuLimitCores: undefined,
  memoryUsed: undefined,
  memoryLimit: undefined,
};

/** v1 writes "no limit" as the largest page-aligned signed 64-bit value; anything this big is no limit. */
const UNLIMITED_BYTES = 2 ** 60;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function readNumber(file: string): Promise<number | undefined> {
  const text = await readText(file);
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** One `key value` line of a flat-keyed cgroup file (cpu.stat, memory.stat). */
function statField(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The lines of /proc/self/cgroup: controller list → path (v2's line has an empty list). */
export function parseProcSelfCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const controllers = m[1]!;
    if (controllers === '') out.set('', m[2]!);
    for (const c of controllers.split(',')) if (c !== '') out.set(c, m[2]!);
  }
  return out;
}

/** `<mount>/<path>` when it holds `probe`, else the mount itself. */
async function groupDir(mount: string, groupPath: string | undefined, probe: string): Promise<string> {
  if (groupPath !== undefined && groupPath !== '/') {
    const nested = path.join(mount, groupPath);
    if (await exists(path.join(nested, probe))) return nested;
  }
  return mount;
}

function workingSet(usage: number | undefined, inactiveFile: number | undefined): number | undefined {
  if (usage === undefined) return undefined;
  return inactiveFile !== undefined && inactiveFile <= usage ? usage - inactiveFile : usage;
}

interface Dirs {
  version: 1 | 2;
  cpuacct: string;
  cpu: string;
  memory: string;
}

export class CgroupReader {
  private dirs: Promise<Dirs | undefined> | undefined;

  constructor(
    /** Where the cgroup file system is mounted (/sys/fs/cgroup). */
    private readonly root: string,
    private readonly procRoot: string,
  ) {}

  /** Resolved once: a process does not change groups under us. */
  private resolve(): Promise<Dirs | undefined> {
    this.dirs ??= this.findDirs();
    return this.dirs;
  }

  private async findDirs(): Promise<Dirs | undefined> {
    const paths = parseProcSelfCgroup((await readText(path.join(this.procRoot, 'self/cgroup'))) ?? '');
    if (await exists(path.join(this.root, 'cgroup.controllers'))) {
      const dir = await groupDir(this.root, paths.get(''), 'cpu.stat');
      return { version: 2, cpuacct: dir, cpu: dir, memory: dir };
    }
    const mountOf = async (names: string[]): Promise<string | undefined> => {
      for (const name of names) if (await exists(path.join(this.root, name))) return path.join(this.root, name);
      return undefined;
    };
    const cpuacctMount = await mountOf(['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu']);
    const cpuMount = await mountOf(['cpu', 'cpu,cpuacct', 'cpuacct,cpu']);
    const memoryMount = await mountOf(['memory']);
    if (!cpuacctMount && !memoryMount) return undefined;
    return {
      version: 1,
      cpuacct: cpuacctMount ? await groupDir(cpuacctMount, paths.get('cpuacct'), 'cpuacct.usage') : '',
      cpu: cpuMount ? await groupDir(cpuMount, paths.get('cpu'), 'cpu.cfs_quota_us') : '',
      memory: memoryMount ? await groupDir(memoryMount, paths.get('memory'), 'memory.usage_in_bytes') : '',
    };
  }

  /**
   * The groups whose usage counters a reading takes (v2: one; v1: cpuacct's
   * and memory's), for the ownership test (cgroup-ownership.ts). The CPU
   * quota's group is not among them: a limit may come from a shared group.
   */
  async usageGroups(): Promise<string[]> {
    const dirs = await this.resolve();
    if (!dirs) return [];
    return [...new Set(dirs.version === 2 ? [dirs.cpu] : [dirs.cpuacct, dirs.memory].filter((d) => d !== ''))];
  }

  async read(): Promise<CgroupReading> {
    const dirs = await this.resolve();
    if (!dirs) return NOTHING;
    return dirs.version === 2 ? readV2(dirs.cpu) : readV1(dirs);
  }
}

async function readV2(dir: string): Promise<CgroupReading> {
  const [cpuStat, cpuMax, current, max, memoryStat] = await Promise.all([
    readText(path.join(dir, 'cpu.stat')),
    readText(path.join(dir, 'cpu.max')),
    readNumber(path.join(dir, 'memory.current')),
    readText(path.join(dir, 'memory.max')),
    readText(path.join(dir, 'memory.stat')),
  ]);
  const usageUsec = statField(cpuStat, 'usage_usec');
  const [quota, period] = (cpuMax ?? '').split(/\s+/);
  const cores = quota !== undefined && quota !== 'max' && Number(period) > 0 ? Number(quota) / Number(period) : undefined;
  const limit = max === undefined || max === 'max' ? undefined : Number(max);
  return {
    version: 2,
    cpuUsageSeconds: usageUsec === undefined ? undefined : usageUsec / 1e6,
    cpuLimitCores: cores !== undefined && Number.isFinite(cores) && cores > 0 ? cores : undefined,
    memoryUsed: workingSet(current, statField(memoryStat, 'inactive_file')),
    memoryLimit: limit !== undefined && Number.isFinite(limit) && limit < UNLIMITED_BYTES ? limit : undefined,
  };
}

async function readV1(dirs: Dirs): Promise<CgroupReading> {
  const at = (dir: string, file: string): string => (dir === '' ? '' : path.join(dir, file));
  const [usageNs, quota, period, usage, limit, memoryStat] = await Promise.all([
    dirs.cpuacct ? readNumber(at(dirs.cpuacct, 'cpuacct.usage')) : undefined,
    dirs.cpu ? readNumber(at(dirs.cpu, 'cpu.cfs_quota_us')) : undefined,
    dirs.cpu ? readNumber(at(dirs.cpu, 'cpu.cfs_period_us')) : undefined,
    dirs.memory ? readNumber(at(dirs.memory, 'memory.usage_in_bytes')) : undefined,
    dirs.memory ? readNumber(at(dirs.memory, 'memory.limit_in_bytes')) : undefined,
    dirs.memory ? readText(at(dirs.memory, 'memory.stat')) : undefined,
  ]);
  // total_inactive_file includes the group's children, as usage_in_bytes does.
  const inactive = statField(memoryStat, 'total_inactive_file') ?? statField(memoryStat, 'inactive_file');
  return {
    version: 1,
    cpuUsageSeconds: usageNs === undefined ? undefined : usageNs / 1e9,
    cpuLimitCores: quota !== undefined && quota > 0 && period !== undefined && period > 0 ? quota / period : undefined,
    memoryUsed: workingSet(usage, inactive),
    memoryLimit: limit !== undefined && limit > 0 && limit < UNLIMITED_BYTES ? limit : undefined,
  };
}

/**
 * CPU use between two readings: of the container's limit (in cores) and of
 * one core (which exceeds 100 when several cores are busy). Rounded to 0.1
 * like the host's per-core figures. The quota (or the cores there are) caps
 * what a container can use over a period, so a figure above it is timing
 * noise between the counter and the clock, and is capped too.
 */
export function containerCpuPercents(usageBefore: number, usageAfter: number, elapsedSeconds: number, limitCores: number): { ofLimit: number; ofCore: number } {
  const used = usageAfter - usageBefore;
  if (!(elapsedSeconds > 0) || !(used > 0) || !(limitCores > 0)) return { ofLimit: 0, ofCore: 0 };
  const ofCore = Math.min((used / elapsedSeconds) * 100, limitCores * 100);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return { ofLimit: round(ofCore / limitCores), ofCore: round(ofCore) };
}
