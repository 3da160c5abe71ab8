/**
 * psutil.virtual_memory() on Linux, from /proc/meminfo: same field names,
 * same formulas, bytes as integers and the percentage rounded to 0.1.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface VirtualMemory {
  total: number;
  available: number;
  percent: number;
  used: number;
  free: number;
  buffers: number;
  cached: number;
  shared: number;
  active: number;
  inactive: number;
}

/** /proc/meminfo as a map of field name → bytes (the file says kB, meaning KiB). */
export function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (m) fields.set(m[1]!, Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return fields;
}

export function virtualMemoryFromMeminfo(fields: Map<string, number>): VirtualMemory {
  const get = (name: string): number => fields.get(name) ?? 0;
  const total = get('MemTotal');
  const free = get('MemFree');
  const buffers = get('Buffers');
  // psutil counts reclaimable slab as cache, as `free` does.
  const cached = get('Cached') + get('SReclaimable');
  const shared = fields.get('Shmem') ?? get('MemShared');
  let used = total - free - buffers - cached;
  if (used < 0) used = total - free;
  // MemAvailable exists since Linux 3.14; before, free + cache is the usual estimate.
  let available = fields.get('MemAvailable') ?? free + buffers + cached;
  available = Math.min(Math.max(available, 0), total);
  const percent = total > 0 ? Math.round(((total - available) / total) * 1000) / 10 : 0;
  return {
    total,
    available,
    percent,
    used,
    free,
    buffers,
    cached,
    shared,
    active: get('Active'),
    inactive: get('Inactive'),
  };
}

function osVirtualMemory(): VirtualMemory {
  const total = os.totalmem();
  const free = os.freemem();
  return {
    total,
    available: free,
    percent: total > 0 ? Math.round(((total - free) / total) * 1000) / 10 : 0,
    used: total - free,
    free,
    buffers: 0,
    cached: 0,
    shared: 0,
    active: 0,
    inactive: 0,
  };
}

/** Reads /proc/meminfo; where there is none, total and free come from Node and the rest is 0. */
export async function readVirtualMemory(procRoot: string): Promise<VirtualMemory> {
  try {
    const fields = parseMeminfo(await readFile(path.join(procRoot, 'meminfo'), 'utf8'));
    if (fields.has('MemTotal')) return virtualMemoryFromMeminfo(fields);
  } catch {
    // Not Linux: fall through.
  }
  return osVirtualMemory();
}
