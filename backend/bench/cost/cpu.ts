/**
 * CPU counted over a stretch of work: each source is a counter of CPU
 * seconds (a process, a thread, a PostgreSQL server), read before and after.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { processTreeCpuSeconds, readProcessTree, type TreeReading } from '../proc.js';

export type CpuSources = Record<string, () => number>;

export interface Measured<T> {
  result: T;
  /** CPU seconds per source over the work. */
  cpu: Record<string, number>;
  seconds: number;
}

/** This process, all threads (the bench's own sharp and worker threads). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export async function cpuDuring<T>(sources: CpuSources, work: () => Promise<T>): Promise<Measured<T>> {
  const before = Object.fromEntries(Object.entries(sources).map(([k, read]) => [k, read()]));
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = Object.fromEntries(Object.entries(sources).map(([k, read]) => [k, read() - before[k]!]));
  return { result, cpu, seconds };
}

/**
 * The CPU of one PostgreSQL server: its postmaster (from postmaster.pid in
 * its data directory) and every process it forked, including those that
 * already exited. On a private server that is this bench's load only.
 */
export interface PostgresCpu {
  (): number;
  /** A reading per process, for processTreeDelta (CPU by kind: connections, checkpointer, autovacuum, exited …). */
  read(): TreeReading;
}

export async function postgresServerCpu(url: string): Promise<PostgresCpu> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    const pidFile = await readFile(path.join(rows[0]!.data_directory, 'postmaster.pid'), 'utf8');
    const postmaster = Number(pidFile.split('\n')[0]);
    if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error(`no postmaster pid in ${rows[0]!.data_directory}`);
    return Object.assign(() => processTreeCpuSeconds(postmaster), { read: () => readProcessTree(postmaster) });
  } finally {
    await client.end();
  }
}

/** CPU by kind (processTreeDelta) per `per` (photos), in ms, largest first. */
export function kindsPerUnit(delta: Map<string, number>, per: number): string {
  return [...delta]
    .map(([k, v]) => [k, (v / per) * 1000] as const)
    .filter(([, v]) => Math.abs(v) >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
}

/** A fresh database on the server `url` points at; returns its URL. */
export async function createDatabaseOn(url: string, name: string): Promise<string> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

export async function dropDatabaseOn(url: string, name: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  await runSql(admin.toString(), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

/** Runs one SQL statement on the server (CHECKPOINT, ALTER SYSTEM …). */
export async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The whole machine's CPU ticks from /proc/stat: all of them, and those the hypervisor gave to other guests (steal). */
export interface HostTicks {
  total: number;
  steal: number;
}

export async function hostTicks(): Promise<HostTicks> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

/** Percent of the machine's CPU time stolen by the hypervisor between two readings. */
export function stealPercent(before: HostTicks, after: HostTicks): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.steal - before.steal) / total) * 100 : 0;
}
