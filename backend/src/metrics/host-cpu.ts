/**
 * Per-core CPU utilisation and frequency, computed the way psutil does on
 * Linux so that our `cpu_percent-N` and `cpu_freq_current` mean what the
 * course's agent meant. Other platforms (a developer running the backend on
 * macOS or Windows) fall back to what Node's `os` module offers.
 */
import { readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Cumulative CPU time of one core, in the kernel's ticks (any unit works for ratios). */
export interface CoreTimes {
  busy: number;
  total: number;
}

/**
 * Parses the per-core `cpuN` lines of /proc/stat (the aggregate `cpu` line is
 * skipped). As psutil does: guest and guest_nice are already counted in user
 * and nice, so they are subtracted from the total; idle and iowait are the
 * non-busy time.
 */
export function parseProcStat(text: string): CoreTimes[] {
  const cores: CoreTimes[] = [];
  for (const line of text.split('\n')) {
    if (!/^cpu\d+\s/.test(line)) continue;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const at = (i: number): number => (Number.isFinite(v[i]) ? v[i]! : 0);
    const all = v.reduce((sum, x) => sum + (Number.isFinite(x) ? x : 0), 0);
    const total = all - at(8) - at(9);
    cores.push({ total, busy: total - at(3) - at(4) });
  }
  return cores;
}

/** Busy share of each core between two readings, rounded to 0.1 like psutil.cpu_percent. */
export function corePercents(before: readonly CoreTimes[], after: readonly CoreTimes[]): number[] {
  return after.map((now, i) => {
    const prev = before[i];
    if (!prev) return 0;
    const total = now.total - prev.total;
    const busy = now.busy - prev.busy;
    if (total <= 0) return 0;
    const percent = Math.round((busy / total) * 1000) / 10;
    return Math.min(100, Math.max(0, percent));
  });
}

function osCoreTimes(): CoreTimes[] {
  return os.cpus().map(({ times }) => {
    const total = times.user + times.nice + times.sys + times.idle + times.irq;
    return { total, busy: total - times.idle };
  });
}

/** Cumulative per-core times from /proc/stat, or from `os.cpus()` where there is no /proc. */
export async function readCoreTimes(procRoot: string): Promise<CoreTimes[]> {
  try {
    const cores = parseProcStat(await readFile(path.join(procRoot, 'stat'), 'utf8'));
    if (cores.length > 0) return cores;
  } catch {
    // Not Linux, or /proc not mounted: fall through.
  }
  return osCoreTimes();
}

/** Mean of the `cpu MHz` lines of /proc/cpuinfo, or undefined when there are none (e.g. on ARM). */
export function parseCpuinfoMhz(text: string): number | undefined {
  const values: number[] = [];
  for (const m of text.matchAll(/^cpu MHz\s*:\s*([\d.]+)/gim)) {
    const v = Number(m[1]);
    if (Number.isFinite(v) && v > 0) values.push(v);
  }
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

async function readScalingCurFreqMhz(sysRoot: string): Promise<number | undefined> {
  // psutil reads the cpufreq policies first; their values are in kHz.
  const base = path.join(sysRoot, 'devices/system/cpu/cpufreq');
  let policies: string[];
  try {
    policies = (await readdir(base)).filter((name) => /^policy\d+$/.test(name));
  } catch {
    return undefined;
  }
  const values: number[] = [];
  await Promise.all(
    policies.map(async (policy) => {
      try {
        const khz = Number((await readFile(path.join(base, policy, 'scaling_cur_freq'), 'utf8')).trim());
        if (Number.isFinite(khz) && khz > 0) values.push(khz / 1000);
      } catch {
        // A policy without scaling_cur_freq (offline core): skip it.
      }
    }),
  );
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

/**
 * Current mean CPU frequency in MHz, in psutil's order of preference:
 * cpufreq's scaling_cur_freq, then /proc/cpuinfo, then (not psutil, for other
 * platforms and VMs that expose neither) the nominal speed Node reports, then 0.
 */
export async function readCpuFreqMhz(procRoot: string, sysRoot: string): Promise<number> {
  const fromSys = await readScalingCurFreqMhz(sysRoot);
  if (fromSys !== undefined) return fromSys;
  try {
    const fromCpuinfo = parseCpuinfoMhz(await readFile(path.join(procRoot, 'cpuinfo'), 'utf8'));
    if (fromCpuinfo !== undefined) return fromCpuinfo;
  } catch {
    // No /proc/cpuinfo: fall through.
  }
  const speeds = os
    .cpus()
    .map((c) => c.speed)
    .filter((s) => s > 0);
  return speeds.length > 0 ? speeds.reduce((a, b) => a + b, 0) / speeds.length : 0;
}
