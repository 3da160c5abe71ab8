#!/usr/bin/env node
/**
 * Throughput per output format: the worker pool against a bare sharp loop
 * (renderImage in the main thread, as many pipelines as cores) on the same
 * generated 12-MP JPEGs with the same options (800x600 inside, each
 * format's default quality). `npm run bench` calls benchFormats(); run alone:
 * `node backend/dist/bench/formats.js` (prints the table and the JSON rows).
 *
 * Environment: BENCH_FORMAT_IMAGES (default 12), WORKER_THREADS (default 4).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { outputOptionsSchema, type OutputFormat, type OutputOptions } from '../src/contract/output-options.js';
import { DEFAULT_RULES, renderImage } from '../src/imaging/index.js';
import { ResizePool } from '../src/workers/pool.js';
import { make12MpJpeg } from '../test/support/images.js';

export interface FormatBenchRow {
  format: OutputFormat;
  quality: number;
  images: number;
  threads: number;
  bareImagesPerSecond: number;
  poolImagesPerSecond: number;
  /** Pool over bare loop; the design's target for JPEG is ≥ 0.95. */
  poolVsBare: number;
  averageOutputBytes: number;
}

export interface FormatBenchOptions {
  formats?: readonly OutputFormat[];
  images?: number;
  threads?: number;
  /** Inputs to use instead of generating 12-MP JPEGs. */
  files?: Buffer[];
  /** Print the table (default true). */
  print?: boolean;
}

const CORES = os.availableParallelism();

async function bareLoop(files: Buffer[], options: OutputOptions): Promise<{ rate: number; bytes: number }> {
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CORES }, async () => {
      while (next < files.length) bytes += (await renderImage(files[next++]!, options, DEFAULT_RULES)).data.length;
    }),
  );
  return { rate: files.length / ((performance.now() - started) / 1000), bytes: bytes / files.length };
}

async function poolRun(pool: ResizePool, files: Buffer[], options: OutputOptions): Promise<number> {
  // Copies made before timing: the pool takes ownership of (transfers) what it is given.
  const copies = files.map((f) => Uint8Array.from(f));
  const started = performance.now();
  const results = await Promise.all(copies.map((c) => pool.resize(c, DEFAULT_RULES, { options })));
  const seconds = (performance.now() - started) / 1000;
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) throw new Error(`the pool failed an image: ${failed.code} ${failed.error}`);
  return files.length / seconds;
}

function printRow(row: FormatBenchRow): void {
  console.log(
    `  ${row.format.padEnd(6)} q${String(row.quality).padEnd(4)} ${row.bareImagesPerSecond.toFixed(2).padStart(9)} ${row.poolImagesPerSecond.toFixed(2).padStart(9)} ${row.poolVsBare.toFixed(2).padStart(8)} ${(row.averageOutputBytes / 1024).toFixed(0).padStart(9)} KiB`,
  );
}

export async function benchFormats(settings: FormatBenchOptions = {}): Promise<FormatBenchRow[]> {
  const formats = settings.formats ?? (['jpeg', 'webp', 'avif'] as const);
  const threads = settings.threads ?? Number(process.env.WORKER_THREADS ?? 4);
  const n = settings.images ?? Number(process.env.BENCH_FORMAT_IMAGES ?? 12);
  const files = settings.files ?? (await Promise.all(Array.from({ length: n }, (_, i) => make12MpJpeg(i + 101))));
  const print = settings.print ?? true;
  if (print) {
    console.log(`\nthroughput per output format: ${files.length} images, ${CORES} cores, ${threads} worker threads, box 800x600 inside`);
    console.log(
      `  ${'format'.padEnd(6)} ${'qual'.padEnd(5)} ${'bare/s'.padStart(9)} ${'pool/s'.padStart(9)} ${'pool/bare'.padStart(8)} ${'avg out'.padStart(13)}`,
    );
  }
  const rows: FormatBenchRow[] = [];
  // No time limit (none is passed): the bare loop has none either.
  const pool = new ResizePool(threads);
  try {
    for (const format of formats) {
      const options = outputOptionsSchema.parse({ format });
      // Warm-up outside the timing: module load and sharp's first use in each thread and in this one.
      await Promise.all(Array.from({ length: threads }, () => pool.resize(Uint8Array.from(files[0]!), DEFAULT_RULES, { options })));
      await bareLoop(files.slice(0, Math.min(files.length, CORES)), options);
      const bare = await bareLoop(files, options);
      const poolRate = await poolRun(pool, files, options);
      const row: FormatBenchRow = {
        format,
        quality: options.quality,
        images: files.length,
        threads,
        bareImagesPerSecond: bare.rate,
        poolImagesPerSecond: poolRate,
        poolVsBare: poolRate / bare.rate,
        averageOutputBytes: Math.round(bare.bytes),
      };
      rows.push(row);
      if (print) printRow(row);
    }
  } finally {
    await pool.close();
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchFormats()
    .then((rows) => console.log(JSON.stringify(rows, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
