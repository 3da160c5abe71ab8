/** The job-cost bench's printed tables. */
import type { JobCostModel, FittedModel } from './model.js';
import type { CaseResult } from './runner.js';

const MiB = 1024 * 1024;
const mib = (b: number) => (b / MiB).toFixed(1);

export const CASE_HEADER = [
  'case'.padEnd(58),
  'out WxH'.padStart(11),
  'out KiB'.padStart(8),
  'base'.padStart(6),
  'peak'.padStart(7),
  'sampled'.padStart(7),
  'left'.padStart(6),
  'cpu ms'.padStart(8),
  'wall ms'.padStart(8),
  'ref ms'.padStart(6),
  'cpu/ref'.padStart(7),
  'load'.padStart(5),
].join(' ');

/** One measured case; memory in MiB above the child's baseline, `peak` from VmHWM. */
export function caseLine(r: CaseResult): string {
  const m = r.measured;
  if (!m) return `${r.case.id.padEnd(58)} FAILED: ${r.error ?? 'unknown'}`;
  return [
    r.case.id.padEnd(58),
    `${m.outputWidth}x${m.outputHeight}`.padStart(11),
    (m.outputBytes / 1024).toFixed(0).padStart(8),
    mib(m.baselineRssBytes).padStart(6),
    mib(m.hwmPeakBytes).padStart(7),
    mib(m.sampledPeakBytes).padStart(7),
    mib(m.retainedLaterBytes).padStart(6),
    m.cpuMs.toFixed(0).padStart(8),
    m.wallMs.toFixed(0).padStart(8),
    m.referenceCpuMs.toFixed(1).padStart(6),
    (m.cpuMs / m.referenceCpuMs).toFixed(1).padStart(7),
    r.loadAverage.toFixed(1).padStart(5),
  ].join(' ');
}

function modelLines(title: string, m: FittedModel, digits: number): string[] {
  return [
    `  ${title}`,
    ...m.terms.map((t) => `    ${t.name.padEnd(40)} ${t.value.toFixed(digits).padStart(12)} ${t.unit}`),
    `    measured/predicted over ${m.ratios.length} cases: min ${m.minRatio.toFixed(2)}, p95 ${m.p95Ratio.toFixed(2)}, max ${m.maxRatio.toFixed(2)}`,
  ];
}

export function modelTable(model: JobCostModel): string[] {
  return [
    ...modelLines('memory (peak RSS above the baseline)', model.memory, 2),
    ...modelLines('CPU time, ms on this machine', model.cpu, 1),
    ...modelLines('CPU time, in reference jobs (1 MP JPEG -> 800x600 JPEG)', model.cpuReference, 2),
  ];
}

/** Every case against the model: where the fit is poor, and what concurrency does. */
export function predictionLines(cases: readonly CaseResult[], model: JobCostModel): string[] {
  const lines = [
    `${'case'.padEnd(58)} ${'MiB'.padStart(7)} ${'model'.padStart(7)} ${'ratio'.padStart(6)} ${'cpu ms'.padStart(8)} ${'model'.padStart(8)} ${'ratio'.padStart(6)}`,
  ];
  for (const r of cases) {
    const m = r.measured;
    if (!m) continue;
    const n = r.case.concurrent;
    // For N jobs at once: N × one job's prediction, against the whole peak and the whole CPU.
    const mem = n * model.memory.predict(r);
    const cpu = n * model.cpu.predict(r);
    lines.push(
      `${r.case.id.padEnd(58)} ${mib(m.hwmPeakBytes).padStart(7)} ${mib(mem).padStart(7)} ${(m.hwmPeakBytes / mem).toFixed(2).padStart(6)} ${m.cpuMs.toFixed(0).padStart(8)} ${cpu.toFixed(0).padStart(8)} ${(m.cpuMs / cpu).toFixed(2).padStart(6)}`,
    );
  }
  return lines;
}
