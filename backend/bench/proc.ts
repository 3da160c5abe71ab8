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
 * CPU seconds of a process's live threads, summed by thread name (comm):
 * which kinds of thread the time went to. Threads that already exited are
 * missing here, though cpuSeconds(pid) still counts them.
 */
export function threadCpuByName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
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
    // Numbered pools ("vips-3", "V8Worker") are one kind each.
    const kind = name.replace(/[-_ ]?\d+$/, '');
    out.set(kind, (out.get(kind) ?? 0) + threadCpuSeconds(pid, Number(tid)));
  }
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
