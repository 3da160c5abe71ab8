/**
 * The processes a handler left behind. A handler's process checks its own
 * children after each call: a copy of itself (a fork) would answer later
 * calls with its own context.env, and anything still running is outside
 * every limit the runtime sets. The Python bridge does the same in Python.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ChildProcessInfo {
  pid: number;
  /** The process group, to kill what the child started in its own group too. */
  pgid: number;
  /** The command name (/proc/<pid>/comm). */
  command: string;
}

function parseStat(pid: number): { ppid: number; pgid: number; state: string; command: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
  const close = stat.lastIndexOf(')');
  const [state = '', ppid = '0', pgid = '0'] = stat.slice(close + 2).split(' ');
  return { ppid: Number(ppid), pgid: Number(pgid), state, command: stat.slice(stat.indexOf('(') + 1, close) };
}

/** Child pids from /proc/<pid>/task/<tid>/children, or by scanning /proc where the kernel lacks that file. */
function childPids(pid: number): number[] {
  const pids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const p of text.split(/\s+/)) if (p !== '') pids.push(Number(p));
    }
    return pids;
  } catch {
    // CONFIG_PROC_CHILDREN is off (or a thread ended while we listed): scan instead.
  }
  pids.length = 0;
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && parseStat(Number(entry))?.ppid === pid) pids.push(Number(entry));
  }
  return pids;
}

/** This process's children that are still running (zombies are only waiting to be reaped by libuv). */
export function runningChildren(pid = process.pid): ChildProcessInfo[] {
  const found: ChildProcessInfo[] = [];
  for (const child of childPids(pid)) {
    const stat = parseStat(child);
    if (stat && stat.state !== 'Z' && stat.state !== 'X') found.push({ pid: child, pgid: stat.pgid, command: stat.command });
  }
  return found;
}

/** SIGKILLs each child, and its process group when it leads one of its own (a detached child's descendants). */
export function killChildren(children: ChildProcessInfo[]): void {
  for (const child of children) {
    try {
      if (child.pgid === child.pid) process.kill(-child.pgid, 'SIGKILL');
      else process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** The error a call gets for what it left behind. */
export function leftChildrenMessage(children: ChildProcessInfo[]): string {
  const list = children.map((c) => `pid ${c.pid} ${c.command}`).join(', ');
  return `the handler left child processes running (${list}); they were killed: a handler must not fork, ` + 'nor leave processes running when it returns';
}
