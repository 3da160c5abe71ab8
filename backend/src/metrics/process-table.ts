/**
 * One scan of /proc: every visible process's parent and CPU time, and from
 * that this process's lineage (its ancestors and its descendants). The scan
 * is psutil's way of finding children (it reads every /proc/<pid>/stat too);
 * it is a few hundred small reads on a busy host and a handful in a pod.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * The kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU times. Node has no
 * sysconf(_SC_CLK_TCK); USER_HZ is part of the kernel's ABI and is 100 on
 * every architecture Node supports on Linux (only alpha and ia64 differ).
 */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcEntry {
  ppid: number;
  /** utime + stime + cutime + cstime: the process's CPU time and its reaped children's, in ticks. */
  cpuTicks: number;
}

export type ProcessTable = ReadonlyMap<number, ProcEntry>;

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and
 * may itself contain spaces and parentheses, so fields are counted from the
 * last ')'.
 */
export function parsePidStat(text: string): ProcEntry | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const ppid = Number(fields[1]);
  const times = fields.slice(11, 15).map(Number);
  if (!Number.isInteger(ppid) || times.length < 4 || times.some((t) => !Number.isFinite(t))) return undefined;
  return { ppid, cpuTicks: times.reduce((a, b) => a + b, 0) };
}

/** Every process /proc shows (one that exits mid-scan is simply not there); undefined without a /proc. */
export async function readProcessTable(procRoot: string): Promise<ProcessTable | undefined> {
  let names: string[];
  try {
    names = await readdir(procRoot);
  } catch {
    return undefined;
  }
  const table = new Map<number, ProcEntry>();
  await Promise.all(
    names
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        try {
          const entry = parsePidStat(await readFile(path.join(procRoot, name, 'stat'), 'utf8'));
          if (entry) table.set(Number(name), entry);
        } catch {
          // Exited between readdir and readFile.
        }
      }),
  );
  return table.size > 0 ? table : undefined;
}

/** This process's id as `procRoot` numbers it (the `self` link), so fixtures and PID namespaces agree. */
export async function selfPid(procRoot: string): Promise<number> {
  try {
    const pid = Number(await readlink(path.join(procRoot, 'self')));
    if (Number.isInteger(pid) && pid > 0) return pid;
  } catch {
    // No /proc/self link: fall through.
  }
  return process.pid;
}

export interface Lineage {
  self: number;
  /** Parent, grandparent, … up to the namespace's init. */
  ancestors: ReadonlySet<number>;
  /** Children, grandchildren, … (this process's tree without itself). */
  descendants: ReadonlySet<number>;
}

export function lineageOf(table: ProcessTable, self: number): Lineage {
  const ancestors = new Set<number>();
  for (let pid = table.get(self)?.ppid; pid !== undefined && pid > 0 && !ancestors.has(pid); pid = table.get(pid)?.ppid) {
    ancestors.add(pid);
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const descendants = new Set<number>();
  const queue = [...(children.get(self) ?? [])];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    if (pid === self || descendants.has(pid)) continue;
    descendants.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return { self, ancestors, descendants };
}

export function isRelative(lineage: Lineage, pid: number): boolean {
  return pid === lineage.self || lineage.ancestors.has(pid) || lineage.descendants.has(pid);
}

/** CPU seconds of this process and its descendants (and of the children each of them reaped). */
export function treeCpuSeconds(table: ProcessTable, lineage: Lineage): number | undefined {
  const own = table.get(lineage.self);
  if (!own) return undefined;
  let ticks = own.cpuTicks;
  for (const pid of lineage.descendants) ticks += table.get(pid)?.cpuTicks ?? 0;
  return ticks / CLOCK_TICKS_PER_SECOND;
}
