/**
 * COST_PROFILE_DIR: the backends run with a CPU profiler on their main
 * thread (profile-preload.ts), and the bench prints
 * the functions that took the most self time on the main thread of the
 * single-backend batch (where the event loop's share of a photo goes).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const PRELOAD = fileURLToPath(new URL('./profile-preload.js', import.meta.url));

export function profileEnv(dir: string | undefined, pod: string): Record<string, string> {
  return dir ? { NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`, COST_PROFILE_OUT: path.join(dir, pod) } : {};
}

async function mainThreadProfile(dir: string): Promise<CpuProfile | undefined> {
  const text = await readFile(path.join(dir, 'main.cpuprofile'), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as CpuProfile) : undefined;
}

/** Top `n` functions by self time, as "name (file:line) ms" lines; the total is the thread's sampled time. */
export async function topSelfTime(dir: string, n = 15): Promise<string[]> {
  const profile = await mainThreadProfile(dir);
  if (!profile) return [`no main-thread profile in ${dir}`];
  const perSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : 'native';
    const key = `${f.functionName || '(anonymous)'} (${where})`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + (node.hitCount ?? 0) * perSample);
  }
  const idle = byFunction.get('(idle) (native)') ?? 0;
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
  return [
    `main thread sampled ${(total / 1000).toFixed(1)} s, idle ${(idle / 1000).toFixed(1)} s`,
    ...[...byFunction]
      .filter(([k]) => k !== '(idle) (native)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `${ms.toFixed(0).padStart(7)} ms  ${k}`),
  ];
}
