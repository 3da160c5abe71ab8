/**
 * PostgreSQL's own cost for the queue's byte traffic, with nothing but pg in
 * between, on a private server: writing and reading 12 MP originals, what
 * wal_compression, a narrow blob table or large objects change, and the
 * lease heartbeat on the wide row against a narrow one.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { readBytea } from '../../src/db/binary-copy.js';
import { migrate } from '../../src/db/migrations.js';
import { createDatabaseOn, cpuDuring, dropDatabaseOn } from './cpu.js';

/** CPU seconds and WAL bytes per operation. */
export interface OpCost {
  cpu: number;
  walBytes: number;
}

export interface DirectCost {
  insertWide: OpCost;
  /** The same inserts with the CHECKPOINT that writes their pages out counted too. */
  insertWideFlushed: OpCost;
  copyRead: OpCost;
  walCompression: { value: string; accepted: boolean; insert?: OpCost }[];
  insertNarrow: OpCost;
  insertLargeObject: OpCost;
  leaseWide: OpCost;
  leaseNarrow: OpCost;
}

type Client = pg.Client;

async function walLsn(client: Client): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return rows[0]!.lsn;
}

/** `ops` operations after a CHECKPOINT (so each variant starts alike, full-page images included). */
async function measureOps(
  client: Client,
  pgCpu: () => number,
  ops: number,
  op: (i: number) => Promise<unknown>,
  options: { flush?: boolean } = {},
): Promise<OpCost> {
  await client.query('CHECKPOINT');
  const lsn0 = await walLsn(client);
  const m = await cpuDuring({ pg: pgCpu }, async () => {
    for (let i = 0; i < ops; i++) await op(i);
    if (options.flush) await client.query('CHECKPOINT');
  });
  const { rows } = await client.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)::text AS d', [lsn0]);
  return { cpu: m.cpu.pg! / ops, walBytes: Number(rows[0]!.d) / ops };
}

/** The backend's own insert of an uploaded original (queue/ingest.ts, insertPending). */
const INSERT_WIDE = `INSERT INTO processed_images (batch_id, filename, content_type, original_data, original_width, original_height, decode_bytes, status)
  VALUES ($1, $2, 'image/jpeg', $3, 4000, 3000, 36000000, 'pending') RETURNING id`;

/** The backend's lease renewal (queue/repository.ts, renewLeases), against `table`. */
const renewSql = (table: string) => `UPDATE ${table} SET lease_expires_at = now() + make_interval(secs => $3)
  WHERE id = ANY($2::bigint[]) AND worker_id = $1 ${table === 'processed_images' ? "AND status = 'processing'" : ''} RETURNING id`;

async function insertWide(client: Client, data: Buffer): Promise<number> {
  const { rows } = await client.query<{ id: string }>(INSERT_WIDE, [randomUUID(), 'direct.jpg', data]);
  return Number(rows[0]!.id);
}

/** Which wal_compression values this server accepts, and an insert's cost under each. */
async function walCompressionCosts(client: Client, url: string, pgCpu: () => number, files: Buffer[], n: number): Promise<DirectCost['walCompression']> {
  const out: DirectCost['walCompression'] = [];
  for (const value of ['off', 'pglz', 'lz4', 'zstd']) {
    try {
      await client.query(`ALTER SYSTEM SET wal_compression = '${value}'`);
    } catch {
      out.push({ value, accepted: false });
      continue;
    }
    await client.query('SELECT pg_reload_conf()');
    await sleep(300);
    // A fresh session, so the setting is certainly the reloaded one.
    const session = new pg.Client({ connectionString: url });
    await session.connect();
    try {
      const { rows } = await session.query<{ wal_compression: string }>('SHOW wal_compression');
      if (rows[0]!.wal_compression !== value) throw new Error(`wal_compression is ${rows[0]!.wal_compression} after setting ${value}`);
      out.push({ value, accepted: true, insert: await measureOps(session, pgCpu, n, (i) => insertWide(session, files[i % files.length]!)) });
    } finally {
      await session.end();
    }
  }
  await client.query('ALTER SYSTEM RESET wal_compression');
  await client.query('SELECT pg_reload_conf()');
  return out;
}

async function leaseCosts(client: Client, pgCpu: () => number, ids: number[], renewals: number): Promise<{ wide: OpCost; narrow: OpCost }> {
  // Four images in flight per worker, as with WORKER_THREADS=4.
  const held = ids.slice(0, 4);
  await client.query(
    `UPDATE processed_images SET status = 'processing', worker_id = 'bench', lease_expires_at = now() + interval '30 s' WHERE id = ANY($1::bigint[])`,
    [held],
  );
  await client.query('CREATE TABLE leases (id bigint PRIMARY KEY, worker_id text NOT NULL, lease_expires_at timestamptz)');
  await client.query(`INSERT INTO leases SELECT id, 'bench', now() + interval '30 s' FROM unnest($1::bigint[]) AS id`, [held]);
  const renew = (table: string) => () => client.query(renewSql(table), ['bench', held, 30]);
  const wide = await measureOps(client, pgCpu, renewals, renew('processed_images'));
  const narrow = await measureOps(client, pgCpu, renewals, renew('leases'));
  return { wide, narrow };
}

export async function directPostgresCost(serverUrl: string, pgCpu: () => number, files: Buffer[], n: number, renewals: number): Promise<DirectCost> {
  const url = await createDatabaseOn(serverUrl, 'cost_direct');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(client);
    const ids: number[] = [];
    const insertWideCost = await measureOps(client, pgCpu, n, async (i) => ids.push(await insertWide(client, files[i % files.length]!)));
    const insertWideFlushed = await measureOps(client, pgCpu, n, (i) => insertWide(client, files[i % files.length]!), { flush: true });
    const copyRead = await measureOps(client, pgCpu, n, async (i) => {
      const bytes = await readBytea(pool, 'processed_images', 'original_data', ids[i]!);
      if (!bytes || bytes.length !== files[i % files.length]!.length) throw new Error(`read back ${bytes?.length} bytes for image ${ids[i]}`);
    });
    const walCompression = await walCompressionCosts(client, url, pgCpu, files, n);
    await client.query('CREATE TABLE blobs (id bigint PRIMARY KEY, data bytea STORAGE EXTERNAL)');
    const insertNarrow = await measureOps(client, pgCpu, n, (i) =>
      client.query('INSERT INTO blobs (id, data) VALUES ($1, $2)', [i + 1, files[i % files.length]!]),
    );
    const insertLargeObject = await measureOps(client, pgCpu, n, (i) => client.query('SELECT lo_from_bytea(0, $1)', [files[i % files.length]!]));
    const lease = await leaseCosts(client, pgCpu, ids, renewals);
    return {
      insertWide: insertWideCost,
      insertWideFlushed,
      copyRead,
      walCompression,
      insertNarrow,
      insertLargeObject,
      leaseWide: lease.wide,
      leaseNarrow: lease.narrow,
    };
  } finally {
    await pool.end();
    await client.end();
    // Dropped, so that autovacuum of its rows does not run into the batches measured next.
    await dropDatabaseOn(serverUrl, 'cost_direct');
  }
}
