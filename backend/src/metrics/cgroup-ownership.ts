/**
 * Whether a cgroup is this pod's own, so that its counters are the pod's
 * figures and nobody else's.
 *
 * What others do, and why it is not enough here: libuv (Node's
 * process.constrainedMemory()) and Go's automaxprocs read the limits of
 * whatever group /proc/self/cgroup names, shared or not; the JDK calls itself
 * containerized when the cgroup file system is mounted read-only, as
 * container engines do; psutil never looks at cgroups; cAdvisor looks at the
 * groups from outside. Limits may come from a shared group, but usage must
 * not: `npm start` on a laptop sits in a login session's group (or the root
 * group: the whole machine), several backends started by one test runner sit
 * in the runner's group, and a container engine without a per-container
 * cgroup leaves the container in the engine's.
 *
 * So the test is the group's content: every process in the group and in the
 * groups below it must be this process, one of its descendants, or one of its
 * ancestors (a container's entrypoint shell, npm or tini; a systemd service's
 * ExecStart chain), and this process must be among them. cgroup.procs lists
 * pids in the reader's PID namespace; cgroup v2 writes 0 for a process
 * outside it, which is therefore someone else's. (cgroup v1 leaves such
 * processes out: a v1 group shared with processes of another PID namespace
 * is the one case this cannot see.)
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isRelative, type Lineage } from './process-table.js';

/** A group with more sub-groups than this is a slice of a machine, not a pod: not ours. */
const MAX_GROUPS = 64;

async function procsOf(dir: string): Promise<number[] | undefined> {
  try {
    const text = await readFile(path.join(dir, 'cgroup.procs'), 'utf8');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number);
  } catch {
    return undefined;
  }
}

async function subGroups(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/**
 * Whether `dir` and every group below it hold only this process and its
 * relatives, this process among them. Stops at the first stranger, so the
 * root group of a busy machine costs one read.
 */
export async function holdsOnlyLineage(dir: string, lineage: Lineage): Promise<boolean> {
  const pending = [dir];
  let visited = 0;
  let sawSelf = false;
  for (let group = pending.shift(); group !== undefined; group = pending.shift()) {
    if (++visited > MAX_GROUPS) return false;
    const procs = await procsOf(group);
    // The group itself must be readable; a sub-group that vanished meanwhile is simply empty.
    if (procs === undefined && group === dir) return false;
    for (const pid of procs ?? []) {
      if (!Number.isInteger(pid) || pid <= 0 || !isRelative(lineage, pid)) return false;
      if (pid === lineage.self) sawSelf = true;
    }
    pending.push(...(await subGroups(group)));
  }
  return sawSelf;
}

/** Whether every group in `dirs` (one for v2; cpuacct's and memory's for v1) is this pod's own. */
export async function ownsGroups(dirs: readonly string[], lineage: Lineage): Promise<boolean> {
  if (dirs.length === 0) return false;
  for (const dir of dirs) if (!(await holdsOnlyLineage(dir, lineage))) return false;
  return true;
}
