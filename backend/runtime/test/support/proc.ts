/**
 * What /proc says about a process: its memory figures and its children. The
 * memory tests measure the runtime's own process from the outside, as the
 * kernel (and a pod's memory limit) sees it.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** A `/proc/<pid>/status` figure in bytes (`VmHWM`, `VmRSS`, `RssAnon`…); undefined once the process is gone. */
export function statusBytes(pid: number, field: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** The pids of `pid`'s children (every thread's), from /proc/<pid>/task/<tid>/children. */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const p of text.split(/\s+/)) if (p !== '') found.push(Number(p));
    } catch {
      // The thread ended while we listed them.
    }
  }
  return found;
}

/** Whether `pid` is a running process (a zombie is not). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export const MiB = 1024 * 1024;
