/**
 * One measurement of the job-cost bench, in a process of its own so that
 * its peak memory is this job's alone. Run by job-cost.ts as
 * `node --expose-gc child.js '<ChildSpec JSON>'`; prints one line of
 * ChildResult JSON.
 *
 *   1. sharp as the worker sets it up (operation cache off), the input read
 *      into memory (one copy per concurrent job, as each worker task owns
 *      its input), one tiny job of the same output options (codec
 *      libraries loaded and initialised, as in a warm worker), a full GC;
 *   2. baseline RSS, then the peak (VmHWM) is reset (`5` to
 *      /proc/self/clear_refs), so VmHWM at the end is the job's own;
 *   3. the job(s) through renderImage, RSS sampled every 5 ms, CPU time
 *      (process.cpuUsage: every thread of the process) and wall time;
 *   4. what RSS is left once the job is done (memory not given back);
 *   5. the reference job (1 MP JPEG to 800x600 JPEG, default options),
 *      warmed once then timed 5 times: the median is this machine's speed
 *      at this moment, to express the job's CPU time in reference jobs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '../../src/contract/output-options.js';
import { DEFAULT_RULES, renderImage } from '../../src/imaging/index.js';

// As backend/src/workers/resize-worker.ts: every image differs, the cache only holds memory.
sharp.cache(false);

export interface ChildSpec {
  input: string;
  options: OutputOptions;
  /** Identical jobs run at once (Promise.all: each in its own libuv thread, as worker threads' are). */
  concurrent: number;
  reference: string;
}

export interface ChildResult {
  baselineRssBytes: number;
  /** Highest sampled RSS minus the baseline. */
  sampledPeakBytes: number;
  /** VmHWM (reset after the baseline) minus the baseline: the kernel's exact peak. */
  hwmPeakBytes: number;
  /** RSS right after the job(s), and 500 ms later, minus the baseline. */
  retainedBytes: number;
  retainedLaterBytes: number;
  cpuMs: number;
  wallMs: number;
  outputBytes: number;
  outputWidth: number;
  outputHeight: number;
  /** Median CPU time of the reference job in this process just after. */
  referenceCpuMs: number;
  referenceWallMs: number;
  samples: number;
}

const KiB = 1024;

async function vmHwmBytes(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN) * KiB;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('child.js needs --expose-gc');
  gc();
}

/** Loads the codec libraries and lets libvips start its threads: what a warm worker has done. */
async function warmUp(options: OutputOptions): Promise<void> {
  const tiny = await sharp({ create: { width: 256, height: 192, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  await renderImage(tiny, { ...options, width: 64, height: 48 }, DEFAULT_RULES);
}

class RssSampler {
  peak = 0;
  count = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(intervalMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    this.count++;
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

async function timeReference(file: string): Promise<{ cpuMs: number; wallMs: number }> {
  const bytes = await readFile(file);
  await renderImage(bytes, DEFAULT_OUTPUT_OPTIONS, DEFAULT_RULES);
  const runs: { cpuMs: number; wallMs: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await renderImage(bytes, DEFAULT_OUTPUT_OPTIONS, DEFAULT_RULES);
    runs.push({ cpuMs: cpuMsSince(cpu), wallMs: performance.now() - t0 });
  }
  runs.sort((a, b) => a.cpuMs - b.cpuMs);
  return runs[2]!;
}

interface JobRun {
  cpuMs: number;
  wallMs: number;
  sampledPeakRss: number;
  samples: number;
  hwm: number;
  rssAfter: number;
  outputBytes: number;
  outputWidth: number;
  outputHeight: number;
}

/** The measured job(s). Only numbers come out: the outputs are garbage once this returns. */
async function runJobs(copies: Uint8Array[], options: OutputOptions): Promise<JobRun> {
  await writeFile('/proc/self/clear_refs', '5');
  const sampler = new RssSampler(5);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const results = await Promise.all(copies.map((c) => renderImage(c, options, DEFAULT_RULES)));
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu);
  sampler.stop();
  const [one] = results;
  if (!one) throw new Error('no result');
  return {
    cpuMs,
    wallMs,
    sampledPeakRss: sampler.peak,
    samples: sampler.count,
    hwm: await vmHwmBytes(),
    rssAfter: process.memoryUsage.rss(),
    outputBytes: one.data.length,
    outputWidth: one.width,
    outputHeight: one.height,
  };
}

async function measure(spec: ChildSpec): Promise<ChildResult> {
  const file = await readFile(spec.input);
  const copies = Array.from({ length: spec.concurrent }, () => Uint8Array.from(file));
  await warmUp(spec.options);
  collect();
  await sleep(100);
  const baseline = process.memoryUsage.rss();
  const run = await runJobs(copies, spec.options);
  // The outputs are collected before "retained later" is read: what stays is libvips' and the allocator's.
  collect();
  await sleep(500);
  const retainedLater = process.memoryUsage.rss() - baseline;
  const reference = await timeReference(spec.reference);
  return {
    baselineRssBytes: baseline,
    sampledPeakBytes: run.sampledPeakRss - baseline,
    hwmPeakBytes: run.hwm - baseline,
    retainedBytes: run.rssAfter - baseline,
    retainedLaterBytes: retainedLater,
    cpuMs: run.cpuMs,
    wallMs: run.wallMs,
    outputBytes: run.outputBytes,
    outputWidth: run.outputWidth,
    outputHeight: run.outputHeight,
    referenceCpuMs: reference.cpuMs,
    referenceWallMs: reference.wallMs,
    samples: run.samples,
  };
}

const arg = process.argv[2];
if (!arg) {
  console.error('usage: child.js <ChildSpec JSON>');
  process.exit(2);
}
measure(JSON.parse(arg) as ChildSpec).then(
  (result) => console.log(JSON.stringify(result)),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
