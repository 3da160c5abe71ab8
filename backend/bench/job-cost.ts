#!/usr/bin/env node
/**
 * What one resize job costs (issue 18, "admission by the whole job's
 * cost"): peak memory and CPU time per input kind, output encoding and
 * output size, each job alone in a fresh child process running the
 * product's renderImage (job-cost/child.ts), and the cost model fitted to
 * them (job-cost/model.ts).
 *
 *   node backend/dist/bench/job-cost.js [--quick]
 *
 * Writes bench-results/job-cost.json. Environment: JOB_COST_NICE (the
 * children's nice, default 5), JOB_COST_MALLOC_ARENA_MAX (default 2, as the
 * container), JOB_COST_ONLY (run only the cases whose id contains it).
 *
 * FITTING PROCEDURE
 * Peak memory is VmHWM of the child, reset after the baseline (sharp loaded,
 * input in memory, a tiny job of the same options run, GC), minus that
 * baseline. CPU is process.cpuUsage over the job (every thread). Both are
 * fitted over the single-job cases by least squares on relative error with
 * non-negative coefficients (job-cost/least-squares.ts), on the features
 * of job-cost/shape.ts (what is known from the header and options):
 *   memory = d_kind × decoded bytes (progressive JPEG: input px × 3)
 *          + a_enc + b_enc × output px + t × resized px (cover+attention)
 *   cpu    = a + e_kind × decoded MP + h × JPEG input MP + c_enc × output MP
 *          + t × resized MP (cover+attention)
 * and CPU again in units of the reference job (1 MP JPEG → 800x600 JPEG,
 * the median of 5 timed in the same child right after the job).
 *
 * MEASURED (filled in from the full run; see the lead's report for the table)
 *   see RESULTS at the end of this comment.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { hostTicks, stealPercent } from './cost/cpu.js';
import { makeInputs } from './job-cost/inputs.js';
import { inputsOf, matrix } from './job-cost/matrix.js';
import { fitModels } from './job-cost/model.js';
import { runCase, type CaseResult, type RunSettings } from './job-cost/runner.js';
import { CASE_HEADER, caseLine, modelTable, predictionLines } from './job-cost/table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MiB = 1024 * 1024;

/** N identical jobs at once against one alone: does the peak add up? */
function concurrencyLines(results: readonly CaseResult[]): string[] {
  return results.flatMap((r) => {
    const m = r.measured;
    if (!m || r.case.concurrent === 1) return [];
    const single = results.find((x) => x.case.id === r.case.id.replace(/\/x\d+$/, ''))?.measured;
    const perJob = m.hwmPeakBytes / r.case.concurrent;
    const vs = single ? ` (alone ${(single.hwmPeakBytes / MiB).toFixed(1)} MiB: ${(perJob / single.hwmPeakBytes).toFixed(2)}x)` : '';
    const cpu = single ? `, CPU per job ${(m.cpuMs / r.case.concurrent / single.cpuMs).toFixed(2)}x alone` : '';
    return [`  ${r.case.id.padEnd(58)} peak ${(m.hwmPeakBytes / MiB).toFixed(1)} MiB, per job ${(perJob / MiB).toFixed(1)} MiB${vs}${cpu}`];
  });
}

function settingsFromEnv(): RunSettings {
  return {
    nice: Number(process.env.JOB_COST_NICE ?? 5),
    mallocArenaMax: process.env.JOB_COST_MALLOC_ARENA_MAX ?? '2',
  };
}

async function runAll(quick: boolean, settings: RunSettings): Promise<{ results: CaseResult[]; inputs: unknown[] }> {
  const only = process.env.JOB_COST_ONLY;
  const cases = matrix(quick).filter((c) => !only || c.id.includes(only));
  const set = await makeInputs(inputsOf(cases));
  try {
    console.log(`${cases.length} cases; inputs: ${[...set.inputs.values()].map((i) => `${i.kind} ${(i.bytes / MiB).toFixed(1)} MiB`).join(', ')}`);
    console.log(`memory in MiB above the child's baseline ("base"); peak = VmHWM, sampled = RSS every 5 ms, left = RSS 0.5 s after\n${CASE_HEADER}`);
    const results: CaseResult[] = [];
    for (const c of cases) {
      const r = await runCase(c, set, settings);
      results.push(r);
      console.log(caseLine(r));
    }
    return { results, inputs: [...set.inputs.values()].map(({ path: _path, ...rest }) => rest) };
  } finally {
    await set.remove();
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const settings = settingsFromEnv();
  const cores = os.availableParallelism();
  const load0 = os.loadavg();
  const host0 = await hostTicks();
  const started = Date.now();
  console.log(`imgfleet job-cost bench${quick ? ' (quick)' : ''}: ${cores} cores, load ${load0.map((l) => l.toFixed(1)).join(' ')}, nice ${settings.nice}, MALLOC_ARENA_MAX=${settings.mallocArenaMax}`);
  const { results, inputs } = await runAll(quick, settings);
  const steal = stealPercent(host0, await hostTicks());
  const load1 = os.loadavg();
  const model = fitModels(results);
  const points = model.memory.ratios.length;
  console.log(`\nmodel (fitted on the ${points} single-job cases)`);
  if (points < 2 * model.memory.terms.length) console.log('  (few cases for that many terms: the fit is close to exact by construction; only the full run says how well the model holds)');
  for (const line of modelTable(model)) console.log(line);
  console.log('\nconcurrency: N identical jobs in one process');
  for (const line of concurrencyLines(results)) console.log(line);
  console.log('\nmeasured against the model');
  for (const line of predictionLines(results, model)) console.log(line);
  const loads = results.map((r) => r.loadAverage);
  const host = {
    loadAverageStart: load0,
    loadAverageEnd: load1,
    loadAverageDuringCases: { min: Math.min(...loads), max: Math.max(...loads), mean: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length) },
    stealPercent: steal,
    seconds: (Date.now() - started) / 1000,
  };
  console.log(`\nhost: load ${host.loadAverageDuringCases.min.toFixed(1)}–${host.loadAverageDuringCases.max.toFixed(1)} (mean ${host.loadAverageDuringCases.mean.toFixed(1)}), steal ${steal.toFixed(1)} %, ${host.seconds.toFixed(0)} s`);
  const failed = results.filter((r) => !r.measured).length;
  await mkdir(path.join(ROOT, 'bench-results'), { recursive: true });
  const out = {
    at: new Date().toISOString(),
    quick,
    machine: { cores, cpu: os.cpus()[0]?.model, memoryBytes: os.totalmem(), node: process.version, sharp: sharp.versions, sharpConcurrency: sharp.concurrency() },
    settings,
    host,
    inputs,
    model: {
      memory: { terms: model.memory.terms, minRatio: model.memory.minRatio, p95Ratio: model.memory.p95Ratio, maxRatio: model.memory.maxRatio },
      cpu: { terms: model.cpu.terms, minRatio: model.cpu.minRatio, p95Ratio: model.cpu.p95Ratio, maxRatio: model.cpu.maxRatio },
      cpuReference: { terms: model.cpuReference.terms, minRatio: model.cpuReference.minRatio, p95Ratio: model.cpuReference.p95Ratio, maxRatio: model.cpuReference.maxRatio },
    },
    cases: results.map((r) => ({ ...r, predicted: r.measured ? { memoryBytes: model.memory.predict(r), cpuMs: model.cpu.predict(r) } : undefined })),
  };
  await writeFile(path.join(ROOT, 'bench-results', 'job-cost.json'), `${JSON.stringify(out, null, 2)}\n`);
  if (failed > 0) throw new Error(`${failed} case(s) failed`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
