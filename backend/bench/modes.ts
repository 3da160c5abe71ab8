#!/usr/bin/env node
/**
 * What the new modes and inputs cost, for the job cost model:
 * - maxBytes: encodes per image and the time against a single encode of the
 *   same options, for targets the first try meets, and targets at 60 % and
 *   30 % of the ceiling's size (JPEG, WebP, AVIF);
 * - a HEIC decode (libheif-js, WebAssembly) against a JPEG of the same
 *   photo and size: time, and the memory readHeader budgets for each.
 * Run alone: `node backend/dist/bench/modes.js` (prints a table, writes
 * bench-results/modes.json). Needs heif-enc (libheif-examples).
 *
 * `modesBench()` returns the same figures as rows for `npm run bench`.
 *
 * Environment: BENCH_MODES_IMAGES (default 3 photos per row).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { outputOptionsSchema, type OutputFormat } from '../src/contract/output-options.js';
import { DEFAULT_RULES, maxEncodePasses, readHeader, renderImage } from '../src/imaging/index.js';
import { makeHeic } from '../test/support/heif.js';
import { makeImage } from '../test/support/images.js';
import type { Row } from './cost/row.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const IMAGES = Number(process.env.BENCH_MODES_IMAGES ?? 3);

export interface MaxBytesRow {
  format: OutputFormat;
  target: string;
  encodesAverage: number;
  encodesMax: number;
  passesBound: number;
  msAverage: number;
  singleEncodeMs: number;
  timeVsSingle: number;
}

export interface HeifRow {
  size: string;
  megapixels: number;
  jpegMs: number;
  heicMs: number;
  heicVsJpeg: number;
  jpegDecodeMiB: number;
  heicDecodeMiB: number;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

export async function maxBytesRows(photos: Buffer[]): Promise<MaxBytesRow[]> {
  const rows: MaxBytesRow[] = [];
  for (const format of ['jpeg', 'webp', 'avif'] as const) {
    const base = outputOptionsSchema.parse({ format, width: 1600, height: 1200 });
    const single = await Promise.all(photos.map(async (p) => timed(() => renderImage(p, base, DEFAULT_RULES))));
    const singleMs = single.reduce((a, r) => a + r.ms, 0) / photos.length;
    for (const [label, share] of [
      ['met at once', 10],
      ['70 % of the ceiling', 0.7],
      ['50 % of the ceiling', 0.5],
    ] as const) {
      let encodes = 0;
      let most = 0;
      let ms = 0;
      for (const [i, photo] of photos.entries()) {
        const options = { ...base, maxBytes: Math.round(single[i]!.value.data.length * share) };
        const run = await timed(() => renderImage(photo, options, DEFAULT_RULES));
        encodes += run.value.encodes;
        most = Math.max(most, run.value.encodes);
        ms += run.ms;
      }
      rows.push({
        format,
        target: label,
        encodesAverage: encodes / photos.length,
        encodesMax: most,
        passesBound: maxEncodePasses({ quality: base.quality, maxBytes: 1 }),
        msAverage: ms / photos.length,
        singleEncodeMs: singleMs,
        timeVsSingle: ms / photos.length / singleMs,
      });
    }
  }
  return rows;
}

export async function heifRows(): Promise<HeifRow[]> {
  const rows: HeifRow[] = [];
  const options = outputOptionsSchema.parse({});
  for (const [width, height] of [
    [2016, 1512],
    [4032, 3024],
  ] as const) {
    const jpeg = await makeImage({ width, height, seed: width, quality: 90, grain: 8 });
    const heic = await makeHeic(jpeg, 60);
    // Warm the HEIF decoder's compile (once per thread) out of the measurement.
    await renderImage(heic, options, DEFAULT_RULES);
    const j = await timed(() => renderImage(jpeg, options, DEFAULT_RULES));
    const h = await timed(() => renderImage(heic, options, DEFAULT_RULES));
    const [jh, hh] = await Promise.all([readHeader(jpeg, DEFAULT_RULES, options), readHeader(heic, DEFAULT_RULES, options)]);
    rows.push({
      size: `${width}x${height}`,
      megapixels: (width * height) / 1e6,
      jpegMs: j.ms,
      heicMs: h.ms,
      heicVsJpeg: h.ms / j.ms,
      jpegDecodeMiB: jh.decodeBytes / 2 ** 20,
      heicDecodeMiB: hh.decodeBytes / 2 ** 20,
    });
  }
  return rows;
}

/** The photos every maxBytes row is measured on: 12 MP JPEGs with grain. */
export function modesPhotos(count = IMAGES): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => makeImage({ width: 4000, height: 3000, seed: 40 + i, quality: 92, grain: 12 })));
}

/**
 * The figures as `npm run bench` rows. libvips runs on one thread here, as
 * in a worker, and is set back after; a part that cannot run (no heif-enc)
 * is a row saying why, not a gap.
 */
export async function modesBench(onRow: (row: Row) => void = () => undefined): Promise<Row[]> {
  const rows: Row[] = [];
  const emit = (row: Row) => {
    rows.push(row);
    onRow(row);
  };
  const threads = sharp.concurrency();
  sharp.concurrency(1);
  try {
    for (const r of await maxBytesRows(await modesPhotos())) {
      emit({
        name: `maxBytes ${r.format}, ${r.target}: encodes/image`,
        value: r.encodesAverage,
        unit: 'encodes',
        target: `<= ${r.passesBound}`,
        met: r.encodesMax <= r.passesBound,
        note: `most ${r.encodesMax}; ${r.msAverage.toFixed(0)} ms, ${r.timeVsSingle.toFixed(2)}x one encode`,
      });
    }
    try {
      for (const r of await heifRows()) {
        emit({
          name: `HEIC ${r.size} → 800x600 JPEG / same JPEG`,
          value: r.heicVsJpeg,
          unit: 'x',
          note: `${r.heicMs.toFixed(0)} against ${r.jpegMs.toFixed(0)} ms; decode budget ${r.heicDecodeMiB.toFixed(0)} / ${r.jpegDecodeMiB.toFixed(0)} MiB`,
        });
      }
    } catch (err) {
      emit({ name: 'HEIC decode against JPEG: could not run', value: 0, unit: '-', target: 'runs', met: false, note: (err as Error).message.split('\n')[0] });
    }
  } finally {
    sharp.concurrency(threads);
  }
  return rows;
}

async function main(): Promise<void> {
  sharp.concurrency(1);
  const photos = await modesPhotos();
  console.log(`maxBytes (1600x1200 from 12-MP JPEGs, ${IMAGES} photos a row; libvips on one thread)`);
  const mb = await maxBytesRows(photos);
  console.table(
    mb.map((r) => ({
      ...r,
      encodesAverage: r.encodesAverage.toFixed(2),
      msAverage: r.msAverage.toFixed(0),
      singleEncodeMs: r.singleEncodeMs.toFixed(0),
      timeVsSingle: r.timeVsSingle.toFixed(2),
    })),
  );
  console.log('HEIC decode against a JPEG of the same photo (to 800x600 JPEG)');
  const hr = await heifRows();
  console.table(
    hr.map((r) => ({
      ...r,
      jpegMs: r.jpegMs.toFixed(0),
      heicMs: r.heicMs.toFixed(0),
      heicVsJpeg: r.heicVsJpeg.toFixed(1),
      jpegDecodeMiB: r.jpegDecodeMiB.toFixed(0),
      heicDecodeMiB: r.heicDecodeMiB.toFixed(0),
    })),
  );
  await mkdir(path.join(root, 'bench-results'), { recursive: true });
  const out = {
    at: new Date().toISOString(),
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    maxBytes: mb,
    heif: hr,
  };
  await writeFile(path.join(root, 'bench-results', 'modes.json'), `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
