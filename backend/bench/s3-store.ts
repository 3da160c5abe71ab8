#!/usr/bin/env node
/**
 * The S3 store's cost, against the machine's test Ceph cluster
 * (scripts/rgw/rgw.sh) through a radosgw of the bench's own, so the
 * gateway's CPU counted is this bench's alone (the monitor and the OSD are
 * the shared cluster's: their figure includes whatever else uses it).
 *
 *   put     photos streamed in (create + 64 KiB chunks, as an upload arrives), PUT_CONCURRENCY at once
 *   get     the same photos streamed out whole (a download, or a worker's read)
 *   result  results put from memory (what a worker writes), RESULT_BYTES each
 *   remove  all of them removed in DeleteObjects batches
 *
 * For each: photos/s and MB/s, this process's CPU per photo (the backend's
 * side: SDK, HTTP, spool file), the radosgw's, and the OSD's and monitor's.
 *
 * Run alone: `node backend/dist/bench/s3-store.js` (writes bench-results/s3-store.json).
 * Environment: S3_BENCH_PHOTOS (default 48), S3_BENCH_DISTINCT (generated
 * 12 MP JPEGs, default 6), S3_BENCH_CONCURRENCY (default 4).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BlobRef } from '../src/blobs/blob-store.js';
import { S3BlobStore } from '../src/blobs/s3-store.js';
import { make12MpJpeg } from '../test/support/images.js';
import { createTestBucket, rgwClientConfig, rgwStoreSettings, startPrivateGateway, testRgw } from '../test/support/rgw.js';
import { streamBlob } from '../test/blobs/support/contract.js';
import { formatRow, type Row } from './cost/row.js';
import { cpuSeconds } from './proc.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
export const S3_BENCH_SETTINGS = {
  photos: env('S3_BENCH_PHOTOS', 48),
  distinct: env('S3_BENCH_DISTINCT', 6),
  concurrency: env('S3_BENCH_CONCURRENCY', 4),
  resultBytes: 150_000,
};

/** The pids of the shared cluster's monitor and OSD (those started with its ceph.conf). */
async function clusterPids(conf: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if ((cmd[0] === 'ceph-mon' || cmd[0] === 'ceph-osd') && cmd.includes(conf)) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

interface CpuReading {
  self: number;
  gateway: number;
  cluster: number;
  at: number;
}

function readCpu(gatewayPid: number, cluster: number[]): CpuReading {
  const usage = process.cpuUsage();
  return {
    self: (usage.user + usage.system) / 1e6,
    gateway: cpuSeconds(gatewayPid),
    cluster: cluster.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    at: performance.now(),
  };
}

/** Runs `work` over `count` items, `concurrency` at once. */
async function inLanes(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

function phaseRows(phase: string, items: number, bytes: number, before: CpuReading, after: CpuReading, unit = 'photo'): Row[] {
  const seconds = (after.at - before.at) / 1000;
  const per = (v: number) => (v / items) * 1000;
  return [
    { name: `s3 ${phase}: ${unit}s/s`, value: items / seconds, unit: `${unit}s/s`, note: `${(bytes / seconds / 2 ** 20).toFixed(1)} MiB/s` },
    { name: `s3 ${phase}: backend CPU per ${unit}`, value: per(after.self - before.self), unit: 'ms', note: 'this process: SDK, HTTP, spool file' },
    { name: `s3 ${phase}: radosgw CPU per ${unit}`, value: per(after.gateway - before.gateway), unit: 'ms', note: "the bench's own gateway" },
    {
      name: `s3 ${phase}: OSD + monitor CPU per ${unit}`,
      value: per(after.cluster - before.cluster),
      unit: 'ms',
      note: 'shared cluster: includes any other load',
    },
  ];
}

/** The bench's rows, each also handed to `onRow` as it is measured. */
export async function s3StoreBench(files: Buffer[], onRow: (row: Row) => void = () => undefined): Promise<Row[]> {
  const { photos, concurrency, resultBytes } = S3_BENCH_SETTINGS;
  const rows: Row[] = [];
  const emit = (more: Row[]) => {
    for (const r of more) {
      rows.push(r);
      onRow(r);
    }
  };
  const gateway = await startPrivateGateway();
  const bucket = await createTestBucket('bench');
  const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-s3-bench-'));
  const store = new S3BlobStore(rgwStoreSettings(bucket.name, spoolDir, { client: rgwClientConfig(gateway.endpoint) }));
  try {
    const gatewayPid = gateway.pid;
    if (gatewayPid === undefined) throw new Error('the bench gateway is not running');
    const cluster = await clusterPids(testRgw().conf);
    const photo = (i: number): Buffer => files[i % files.length] ?? Buffer.alloc(0);
    const photoBytes = Array.from({ length: photos }, (_, i) => photo(i).length).reduce((a, b) => a + b, 0);
    await store.check();
    await store.put('result', Buffer.alloc(1000)); // warm: connections, credentials

    const refs: BlobRef[] = [];
    let before = readCpu(gatewayPid, cluster);
    await inLanes(photos, concurrency, async (i) => {
      const staged = await streamBlob(store, 'original', photo(i));
      refs[i] = { imageId: i, kind: 'original', key: staged.key };
    });
    emit(phaseRows('put', photos, photoBytes, before, readCpu(gatewayPid, cluster)));

    before = readCpu(gatewayPid, cluster);
    await inLanes(photos, concurrency, async (i) => {
      const ref = refs[i];
      if (!ref) return;
      for await (const _ of await store.open(ref)) continue; // drained: the read is what is timed
    });
    emit(phaseRows('get', photos, photoBytes, before, readCpu(gatewayPid, cluster)));

    const result = Buffer.alloc(resultBytes, 1);
    before = readCpu(gatewayPid, cluster);
    await inLanes(photos, concurrency, async (i) => {
      refs.push({ imageId: i, kind: 'result', key: (await store.put('result', result)).key });
    });
    emit(phaseRows('result put', photos, photos * resultBytes, before, readCpu(gatewayPid, cluster), 'result'));

    before = readCpu(gatewayPid, cluster);
    await store.remove(refs);
    emit(phaseRows('remove', refs.length, 0, before, readCpu(gatewayPid, cluster), 'blob'));
  } finally {
    await store.close();
    await bucket.destroy();
    await gateway.destroy();
    await rm(spoolDir, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const { distinct } = S3_BENCH_SETTINGS;
  const files = await Promise.all(Array.from({ length: distinct }, (_, i) => make12MpJpeg(i + 1)));
  const average = files.reduce((a, f) => a + f.length, 0) / files.length;
  console.log(
    `imgfleet S3 store bench: Ceph RGW, ${distinct} generated 12 MP JPEGs of ${(average / 2 ** 20).toFixed(2)} MiB on average, settings ${JSON.stringify(S3_BENCH_SETTINGS)}`,
  );
  const rows = await s3StoreBench(files, (row) => console.log(formatRow(row)));
  await mkdir(path.join(root, 'bench-results'), { recursive: true });
  const out = {
    at: new Date().toISOString(),
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    settings: S3_BENCH_SETTINGS,
    averagePhotoBytes: Math.round(average),
    rows,
  };
  await writeFile(path.join(root, 'bench-results', 's3-store.json'), `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
