/** psutil.pids() on Linux: one numeric directory per process in /proc (the pod's PID namespace). */
import { readdir } from 'node:fs/promises';

export async function countPids(procRoot: string): Promise<number> {
  try {
    const names = await readdir(procRoot);
    return names.reduce((n, name) => (/^\d+$/.test(name) ? n + 1 : n), 0);
  } catch {
    // No /proc (not Linux): the count is unknown; 0 keeps the field an integer.
    return 0;
  }
}
