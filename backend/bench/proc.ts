/**
 * CPU and memory of processes and threads, read from Linux's /proc: what the
 * benches count. Figures are user + system time in seconds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** USER_HZ: the unit of /proc's CPU times; 100 on every Linux we run on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** The fields of a /proc stat file after the command name (fields[0] is the state). */
function statFields(file: string): string[] | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    // The command name is in parentheses and may itself hold spaces or ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited meanwhile
  }
}

/** CPU seconds (user + system) a process has used, all its threads; 0 once gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(`/proc/${pid}/stat`);
  return f ? (Number(f[11]) + Number(f[12])) / CLOCK_TICKS : 0;
}

/** CPU seconds of one thread of a process (the main thread's tid is the pid). */
export function threadCpuSeconds(pid: number, tid: number): number {
  const f = statFields(`/proc/${pid}/task/${tid}/stat`);
  return f ? (Number(f[11]) + Number(f[12])) / CLOCK_TICKS : 0;
}

/**
 * The CPU seconds of each live thread of a process, by tid, with its kind:
 * "main" (the tid that is the pid), else its name with any number dropped
 * ("libvips worker", "node" for every other Node thread).
 */
export function threadCpuByTid(pid: number): Map<number, { kind: string; cpu: number }> {
  const out = new Map<number, { kind: string; cpu: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name: string;
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const kind = Number(tid) === pid ? 'main' : name.replace(/[-_ ]?\d+$/, '');
    out.set(Number(tid), { kind, cpu: threadCpuSeconds(pid, Number(tid)) });
  }
  return out;
}

/**
 * What each kind of thread used between two threadCpuByTid readings:
 * threads alive at the end, less what they had at the start. Threads that
 * started and ended in between are not seen (cpuSeconds still counts them).
 */
export function threadCpuDelta(after: Map<number, { kind: string; cpu: number }>, before: Map<number, { kind: string; cpu: number }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [tid, t] of after) out.set(t.kind, (out.get(t.kind) ?? 0) + t.cpu - (before.get(tid)?.cpu ?? 0));
  return out;
}

/**
 * CPU seconds of a process and its children: their own time plus what their
 * exited children used (the kernel adds a reaped child's time to its
 * parent's cutime/cstime), so short-lived children are not lost.
 */
export function processTreeCpuSeconds(rootPid: number): number {
  const withReaped = (f: string[]) => (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    if (f && (Number(name) === rootPid || Number(f[1]) === rootPid)) total += withReaped(f);
  }
  return total;
}

/** A reading of a process tree: each live child's CPU and kind, and the root's own and reaped time. */
export interface TreeReading {
  children: Map<number, { kind: string; cpu: number }>;
  rootOwn: number;
  rootReaped: number;
}

/**
 * processTreeCpuSeconds, per child, with what each child is from its title
 * ("postgres: checkpointer", "postgres: autovacuum worker", or a client
 * connection "postgres: user db host(port) state", counted as "connections").
 */
export function readProcessTree(rootPid: number): TreeReading {
  const reading: TreeReading = { children: new Map(), rootOwn: 0, rootReaped: 0 };
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    if (!f) continue;
    const own = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    const reaped = (Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
    if (Number(name) === rootPid) {
      reading.rootOwn = own;
      reading.rootReaped = reaped;
    } else if (Number(f[1]) === rootPid) {
      let title: string;
      try {
        title = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        continue;
      }
      const m = /^postgres: (?:[^:]+: )?(.*)$/.exec(title); // Debian adds "15/main: "
      const kind = !m
        ? 'other'
        : (/^(checkpointer|background writer|walwriter|autovacuum|logical replication|io worker|walsummarizer)/.exec(m[1]!)?.[0] ?? 'connections');
      reading.children.set(Number(name), { kind, cpu: own + reaped });
    }
  }
  return reading;
}

/**
 * CPU by kind between two readings. A child that exits hands its time to
 * the root's reaped time: what exited children used inside the window is
 * that growth less what they had already used at the start ("exited").
 */
export function processTreeDelta(after: TreeReading, before: TreeReading): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, (out.get(k) ?? 0) + v);
  add('postmaster', after.rootOwn - before.rootOwn);
  let exitedBefore = 0;
  for (const [pid, c] of before.children) if (!after.children.has(pid)) exitedBefore += c.cpu;
  add('exited', after.rootReaped - before.rootReaped - exitedBefore);
  for (const [pid, c] of after.children) add(c.kind, c.cpu - (before.children.get(pid)?.cpu ?? 0));
  return out;
}

/** CPU seconds of every PostgreSQL server process on the machine. */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'postgres') total += cpuSeconds(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** Peak resident memory (VmHWM) of a process, in MiB. */
export async function peakRssMb(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024;
}
