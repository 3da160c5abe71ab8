/**
 * Runs each case in a fresh child process (child.ts) and gathers what it
 * measured with what the host was doing meanwhile (load average, steal).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { hostTicks, stealPercent } from '../cost/cpu.js';
import type { ChildResult, ChildSpec } from './child.js';
import type { InputSet } from './inputs.js';
import { optionsFor, type Case } from './matrix.js';
import { shapeOf, type JobShape } from './shape.js';

export interface RunSettings {
  /** `nice -n` of the children: the machine is shared; CPU time is what is compared, not wall time. */
  nice: number;
  /** glibc arenas in the children: the product's container sets 2 (docker/Dockerfile.app). */
  mallocArenaMax: string;
}

export interface CaseResult {
  case: Case;
  shape: JobShape;
  /** 1-minute load average when the case started. */
  loadAverage: number;
  /** Percent of the machine's CPU stolen by the hypervisor while the case ran. */
  stealPercent: number;
  measured?: ChildResult;
  error?: string;
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

function runChild(spec: ChildSpec, settings: RunSettings): Promise<ChildResult> {
  const args = ['-n', String(settings.nice), process.execPath, '--expose-gc', CHILD, JSON.stringify(spec)];
  const child = spawn('nice', args, {
    env: { ...process.env, MALLOC_ARENA_MAX: settings.mallocArenaMax },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as ChildResult);
      else reject(new Error(`child exited ${signal ?? code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

export async function runCase(c: Case, inputs: InputSet, settings: RunSettings): Promise<CaseResult> {
  const input = inputs.inputs.get(c.input);
  if (!input) throw new Error(`no input ${c.input}`);
  const options = optionsFor(c);
  const shape = shapeOf(input, options);
  const loadAverage = os.loadavg()[0] ?? 0;
  const before = await hostTicks();
  const spec: ChildSpec = { input: input.path, options, concurrent: c.concurrent, reference: inputs.reference };
  try {
    const measured = await runChild(spec, settings);
    return { case: c, shape, loadAverage, stealPercent: stealPercent(before, await hostTicks()), measured };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { case: c, shape, loadAverage, stealPercent: stealPercent(before, await hostTicks()), error };
  }
}
