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
 *   memory = d_group × decoded bytes + p × input px × 3 (progressive JPEG)
 *          + a_enc + b_enc × output px × bands/3 + t × resized px (attention)
 *   cpu    = a + e_kind × input MP + r × decoded MP + c_enc × output MP
 *          + u × enlarged MP + t × resized MP (attention)
 * except PNG palette, whose cost follows the colours more than the pixels:
 * its a_enc and b_enc are the lowest line above all its cases. The safety
 * margin to apply is the largest measured/predicted ratio (printed).
 * and CPU again in units of the reference job (1 MP JPEG → 800x600 JPEG,
 * the median of 5 timed in the same child right after the job).
 *
 * Re-fit an earlier run without measuring again: --refit [file.json].
 *
 * RESULTS of the full run (2 AMD EPYC cores shared with other work: load
 * 12.6–35.2, steal 0 %; nice 5, MALLOC_ARENA_MAX=2, sharp 0.35.5 / libvips
 * 8.18.7, sharp.concurrency() 1; 84 cases, 63 min). Memory in bytes above
 * the process's baseline (~81 MiB + the input's bytes):
 *   decode   jpeg 0.54 × decoded bytes (after shrink-on-load; EXIF-rotated
 *            alike), + progressive 1.01 × input px × 3 (its coefficients),
 *            png 0.64 ×, interlaced png 1.42 ×, webp 2.02 × decoded bytes
 *   encode   a + b × output px × bands/3:
 *            jpeg 3.7 MiB + 5.9 B/px (progressive, mozjpeg alike: sharp's
 *            optimise_coding keeps every coefficient), webp 4.5 MiB + 4.9,
 *            avif 13.3 MiB + 33.9, png 4.7 MiB + 2.4,
 *            png palette 92.6 MiB + 2.4 (upper envelope)
 *   cover+attention + 2.77 B × resized px (before the crop)
 *   measured/predicted ≤ 1.27 over every single job (p95 1.21); N jobs at
 *   once in one process: 0.82–1.06 × N × one job's prediction.
 * CPU, ms (this machine; ≈ 18 ms per reference job here, 15–28 over the run):
 *   27.5 + per input MP: jpeg 3.2, progressive 27.8, rotated 7.2, png 9.7,
 *   interlaced png 107.6, webp 18.6; + 11.0 per decoded MP;
 *   + per output MP: jpeg 34.8, progressive 41.0, mozjpeg 114.9, webp 143
 *   (about ×5 above ~40 MP), avif 2167, png 76.9, palette 18.4 s + 156
 *   (envelope); + 32.2 per enlarged MP; + 26.6 per resized MP (attention).
 *   In reference jobs: 1.2 + jpeg 0.18, progressive 1.26, rotated 0.31,
 *   png 0.59, interlaced 6.52, webp 1.16 per input MP; 0.66 per decoded MP;
 *   jpeg 2.14, progressive 2.27, mozjpeg 6.78, webp 7.99, avif 119.9,
 *   png 3.84, palette 1028 + 9.43 per output MP; enlarge 1.46, attention 1.21.
 *   measured/predicted p95 1.35 (ref units 1.23), max 2.08 (WebP 67 MP).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { hostTicks, stealPercent } from './cost/cpu.js';
import { makeInputs } from './job-cost/inputs.js';
import { inputsOf, matrix } from './job-cost/matrix.js';
import { fitModels, type FittedModel, type JobCostModel } from './job-cost/model.js';
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

interface HostReport {
  loadAverageStart: number[];
  loadAverageEnd: number[];
  loadAverageDuringCases: { min: number; max: number; mean: number };
  stealPercent: number;
  seconds: number;
}

/** What a run (or an earlier run's JSON, with --refit) gives the report. */
interface Run {
  quick: boolean;
  at: string;
  machine: Record<string, unknown>;
  settings: RunSettings;
  host: HostReport;
  inputs: unknown[];
  results: CaseResult[];
}

function modelJson(model: JobCostModel) {
  const part = (m: FittedModel) => ({ terms: m.terms, minRatio: m.minRatio, p95Ratio: m.p95Ratio, maxRatio: m.maxRatio });
  return { memory: part(model.memory), cpu: part(model.cpu), cpuReference: part(model.cpuReference) };
}

async function measureAll(quick: boolean): Promise<Run> {
  const settings = settingsFromEnv();
  const cores = os.availableParallelism();
  const load0 = os.loadavg();
  const host0 = await hostTicks();
  const started = Date.now();
  console.log(
    `imgfleet job-cost bench${quick ? ' (quick)' : ''}: ${cores} cores, load ${load0.map((l) => l.toFixed(1)).join(' ')}, nice ${settings.nice}, MALLOC_ARENA_MAX=${settings.mallocArenaMax}`,
  );
  const { results, inputs } = await runAll(quick, settings);
  const loads = results.map((r) => r.loadAverage);
  const host: HostReport = {
    loadAverageStart: load0,
    loadAverageEnd: os.loadavg(),
    loadAverageDuringCases: { min: Math.min(...loads), max: Math.max(...loads), mean: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length) },
    stealPercent: stealPercent(host0, await hostTicks()),
    seconds: (Date.now() - started) / 1000,
  };
  const machine = {
    cores,
    cpu: os.cpus()[0]?.model,
    memoryBytes: os.totalmem(),
    node: process.version,
    sharp: sharp.versions,
    sharpConcurrency: sharp.concurrency(),
  };
  return { quick, at: new Date().toISOString(), machine, settings, host, inputs, results };
}

/** An earlier run's measurements, to fit the model again without measuring again. */
async function loadRun(file: string): Promise<Run> {
  const json = JSON.parse(await readFile(file, 'utf8')) as Omit<Run, 'results'> & { cases: CaseResult[] };
  const { cases, ...rest } = json;
  console.log(`refitting ${cases.length} cases measured at ${rest.at}`);
  return {
    ...rest,
    results: cases.map(({ case: c, shape, loadAverage, stealPercent: steal, measured, error }) => ({
      case: c,
      shape,
      loadAverage,
      stealPercent: steal,
      measured,
      error,
    })),
  };
}

function report(run: Run, model: JobCostModel): void {
  const points = model.memory.ratios.length;
  console.log(`\nmodel (fitted on the ${points} single-job cases)`);
  if (points < 2 * model.memory.terms.length)
    console.log('  (few cases for that many terms: the fit is close to exact by construction; only the full run says how well the model holds)');
  for (const line of modelTable(model)) console.log(line);
  console.log('\nconcurrency: N identical jobs in one process');
  for (const line of concurrencyLines(run.results)) console.log(line);
  console.log('\nmeasured against the model');
  for (const line of predictionLines(run.results, model)) console.log(line);
  const h = run.host;
  console.log(
    `\nhost: load ${h.loadAverageDuringCases.min.toFixed(1)}–${h.loadAverageDuringCases.max.toFixed(1)} (mean ${h.loadAverageDuringCases.mean.toFixed(1)}), steal ${h.stealPercent.toFixed(1)} %, ${h.seconds.toFixed(0)} s`,
  );
}

async function main(): Promise<void> {
  const refit = process.argv.indexOf('--refit');
  const out = path.join(ROOT, 'bench-results', 'job-cost.json');
  const run = refit >= 0 ? await loadRun(process.argv[refit + 1] ?? out) : await measureAll(process.argv.includes('--quick'));
  const model = fitModels(run.results);
  report(run, model);
  await mkdir(path.dirname(out), { recursive: true });
  const { results, ...rest } = run;
  const cases = results.map((r) => ({ ...r, predicted: r.measured ? { memoryBytes: model.memory.predict(r), cpuMs: model.cpu.predict(r) } : undefined }));
  await writeFile(
    out,
    `${JSON.stringify({ ...rest, ...(refit >= 0 ? { refittedAt: new Date().toISOString() } : {}), model: modelJson(model), cases }, null, 2)}\n`,
  );
  const failed = results.filter((r) => !r.measured).length;
  if (failed > 0) throw new Error(`${failed} case(s) failed`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
