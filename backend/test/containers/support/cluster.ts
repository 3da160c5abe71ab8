/**
 * A cluster of containers on one Podman network, configured as k8s/ configures the
 * pods: Postgres (postgres-db), Redis, three backend containers (distinct POD_NAME)
 * sharing one blob store, and the function runtime. A batch of 60 photos is spread
 * over the three; one backend container is killed (`podman kill`, SIGKILL) while it
 * holds images. Every photo completes exactly once (counted from Postgres's own
 * status notifications), the images it held are taken over by the live ones, every
 * photo's bytes are in the blob store and none in PostgreSQL, and the dead pod's
 * `metrics:<pod>` key expires while the runtime keeps deriving figures for the live
 * pods. Prints the result as completed|failed|total.
 *
 * Which blob store is the caller's: the filesystem store on one volume mounted in
 * every backend container, or the S3 store on a bucket (cluster*.containers.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import sharp from 'sharp';
import type { UploadResponse } from '../../../src/contract/api.js';
import { upload } from '../../support/backend.js';
import { makeImage } from '../../support/images.js';
import { listenToStatuses, type StatusLog } from '../../support/status-log.js';
import { APP_IMAGE, HARDENED, Podman, REDIS_IMAGE, RUNTIME_IMAGE, podman, startDatabase, until, untilHttpOk, type Container } from './podman.js';

const PODS = ['app-1', 'app-2', 'app-3'] as const;
const VICTIM = 'app-2';
const PER_POD = 20;
const TOTAL = PER_POD * PODS.length;
const LEASE_SECONDS = 4;
const PERIOD_SECONDS = 1;
const OUTPUT_KEY = 'metrics-derived';

/**
 * A row's blob columns, as the blob store's migration adds them. The sizes
 * are BIGINT: a string from a bare pg, a number once the backend's modules
 * (loaded by these tests) have set pg's int8 parser; compare them as numbers.
 */
export interface BlobRow {
  id: string;
  original_key: string | null;
  processed_key: string | null;
  original_bytes: string | number | null;
  processed_bytes: string | number | null;
  original_data_length: number | null;
  processed_data_length: number | null;
}

export interface BlobSetup {
  /** What every backend container gets: BLOB_STORE and its settings. */
  env: Record<string, string>;
  /** Extra `podman run` options of every backend container (the shared volume). */
  options: string[];
  /** Checks, after the batch, that the blob each row names is really in the store. */
  verifyStored(rows: BlobRow[], survivor: { c: Container; url: string }): Promise<void>;
}

/**
 * describe()s the kill test on a cluster whose blob store `blobs` makes, once the
 * network exists (a volume on it, a bucket, an endpoint the containers reach).
 */
export function describeCluster(title: string, blobs: (p: Podman, network: string) => Promise<BlobSetup>): void {
  describe(title, () => {
    const p = new Podman();
    const apps = new Map<string, { c: Container; url: string }>();
    let store: BlobSetup;
    let redis: Redis;
    let sql: pg.Pool;
    let log: StatusLog;

    before(async () => {
      const network = await p.network('cluster');
      const { hostUrl, clusterUrl } = await startDatabase(p, network);
      const redisC = await p.run({ name: 'redis', image: REDIS_IMAGE, network, publish: [6379], options: HARDENED });
      redis = new Redis(`redis://127.0.0.1:${await redisC.port(6379)}`, { maxRetriesPerRequest: 2 });
      await until('redis answers', async () => (await redis.ping()) === 'PONG', 30_000);
      sql = new pg.Pool({ connectionString: hostUrl, max: 2 });
      log = await listenToStatuses(hostUrl);
      store = await blobs(p, network);
      // All three at once, as a Deployment's replicas start: migrations race under their lock.
      await Promise.all(PODS.map(async (name) => apps.set(name, await startApp(p, network, name, clusterUrl, store))));
      await p.run({
        name: 'runtime',
        image: RUNTIME_IMAGE,
        network,
        env: { REDIS_HOST: 'redis', REDIS_PORT: '6379', REDIS_INPUT_KEY: 'metrics:*', REDIS_OUTPUT_KEY: OUTPUT_KEY, INTERVAL: String(PERIOD_SECONDS) },
        options: HARDENED,
      });
    });

    after(async () => {
      await Promise.allSettled([log?.close(), sql?.end()]);
      redis?.disconnect();
      await p.cleanup();
    });

    it('every pod publishes metrics:<pod> and the runtime derives figures for each', { timeout: 180_000 }, async () => {
      await until(
        'metrics and derived figures for every pod',
        async () => {
          const snapshots = await redis.mget(...PODS.map((n) => `metrics:${n}`));
          const derived = await redis.mget(...PODS.map((n) => `${OUTPUT_KEY}:${n}`));
          return snapshots.every((s) => s !== null) && derived.every((d) => d !== null && 'percentage_memory_caching' in JSON.parse(d));
        },
        120_000,
        500,
      );
      for (const name of PODS) assert.equal((JSON.parse((await redis.get(`metrics:${name}`))!) as { pod: string }).pod, name);
    });

    it(
      'a batch of 60 photos over three pods, one killed while it holds images: every photo completes exactly once, its bytes in the blob store',
      { timeout: 300_000 },
      async () => {
        const ids = await uploadBatch(apps);
        const held = await killWhileHolding(sql, apps.get(VICTIM)!.c);
        await until(
          'every photo has an outcome',
          async () => {
            const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM processed_images WHERE status IN ('completed', 'failed')`);
            return Number(rows[0]!.n) === TOTAL;
          },
          240_000,
          500,
        );
        const { rows } = await sql.query<{ id: string; status: string; attempts: number; worker_id: string; width: number; height: number }>(
          `SELECT id, status, attempts, worker_id, width, height FROM processed_images ORDER BY id`,
        );
        const completed = rows.filter((r) => r.status === 'completed').length;
        const failed = rows.filter((r) => r.status === 'failed').length;
        console.log(`cluster kill test, ${title} (completed|failed|total): ${completed}|${failed}|${TOTAL}`);
        assert.equal(completed, TOTAL, JSON.stringify(rows.filter((r) => r.status !== 'completed')));
        // Exactly once: Postgres announced one completion per image, whichever pod did it.
        await until('the last notifications arrive', () => ids.every((id) => log.completions(id) >= 1), 10_000);
        for (const id of ids) assert.equal(log.completions(id), 1, `image ${id} completed ${log.completions(id)} times`);
        for (const r of rows) assert.deepEqual([r.width, r.height], [800, 600], `image ${r.id}`);
        for (const id of held) {
          const r = rows.find((x) => Number(x.id) === id)!;
          assert.ok(!r.worker_id.startsWith(`${VICTIM}/`), `image ${id}, held by the killed pod, was finished by ${r.worker_id}`);
          assert.ok(r.attempts >= 2, `image ${id} was taken over (attempts ${r.attempts})`);
        }
        await checkBlobs(sql, store, apps.get('app-1')!);
        // A result really is the resized photo, read back through a live pod.
        const bytes = Buffer.from(await (await fetch(`${apps.get('app-1')!.url}/download/${held[0]}`)).arrayBuffer());
        const meta = await sharp(bytes).metadata();
        assert.deepEqual([meta.width, meta.height], [800, 600]);
      },
    );

    it('the killed pod’s metrics key expires; the live pods keep theirs and their derived figures', { timeout: 60_000 }, async () => {
      await until(`metrics:${VICTIM} expires`, async () => (await redis.exists(`metrics:${VICTIM}`)) === 0, 30_000, 200);
      for (const name of PODS.filter((n) => n !== VICTIM)) {
        assert.equal(await redis.exists(`metrics:${name}`), 1, name);
        const before = (await redis.get(`${OUTPUT_KEY}:${name}`))!;
        await until(`${OUTPUT_KEY}:${name} is rewritten`, async () => (await redis.get(`${OUTPUT_KEY}:${name}`)) !== before, 30_000, 200);
      }
    });
  });
}

async function startApp(p: Podman, network: string, name: string, clusterUrl: string, store: BlobSetup): Promise<{ c: Container; url: string }> {
  const c = await p.run({
    name,
    image: APP_IMAGE,
    network,
    env: {
      DATABASE_URL: clusterUrl,
      POD_NAME: name,
      WORKER_THREADS: '1',
      LEASE_SECONDS: String(LEASE_SECONDS),
      REDIS_HOST: 'redis',
      REDIS_PORT: '6379',
      METRICS_PERIOD: String(PERIOD_SECONDS),
      FUNCTION_OUTPUT_KEY: OUTPUT_KEY,
      ...store.env,
    },
    publish: [8080],
    options: [...HARDENED, ...store.options],
  });
  const url = `http://127.0.0.1:${await c.port(8080)}`;
  await untilHttpOk(`${url}/readyz`, 120_000).catch(async (err: unknown) => {
    throw new Error(`${name}: ${(err as Error).message}\n${await c.logs()}`);
  });
  return { c, url };
}

/** 20 twelve-megapixel photos to each pod: each holds a thread long enough that the pod killed is sure to hold some. */
async function uploadBatch(apps: Map<string, { url: string }>): Promise<number[]> {
  const photos = await Promise.all(Array.from({ length: 12 }, (_, i) => makeImage({ width: 4000, height: 3000, seed: 300 + i, grain: 12, quality: 92 })));
  const responses = await Promise.all(
    PODS.map(async (name, podIndex) => {
      const files = Array.from({ length: PER_POD }, (_, i) => ({ name: `${name}-${i}.jpg`, data: photos[(podIndex * PER_POD + i) % photos.length]! }));
      const res = await upload(apps.get(name)!.url, files, { path: '/upload' });
      assert.equal(res.status, 202, await res.clone().text());
      return (await res.json()) as UploadResponse;
    }),
  );
  const ids = responses.flatMap((r) => r.images.map((i) => i.id));
  assert.equal(ids.length, TOTAL);
  return ids;
}

/**
 * Kills the victim while it holds an image (its lease must expire for another pod to
 * take it); returns what it held. It is frozen first (`podman pause`): a frozen pod
 * neither finishes nor claims, so what it holds once its last statement has run is
 * what it holds when SIGKILL lands, however slow the machine. (Read after the kill,
 * a lease of LEASE_SECONDS may already have expired and moved on.) Caught between two
 * images, it is let go and caught again.
 */
async function killWhileHolding(sql: pg.Pool, victim: Container): Promise<number[]> {
  const heldBy = async (): Promise<number[]> =>
    (await sql.query<{ id: string }>(`SELECT id FROM processed_images WHERE status = 'processing' AND worker_id LIKE $1`, [`${VICTIM}/%`])).rows.map((r) =>
      Number(r.id),
    );
  const address = await victim.inspect('{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
  const running = async (): Promise<number> =>
    (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE client_addr = $1::inet AND state = 'active'`, [address])).rows[0]!.n;
  let held: number[] = [];
  for (let attempt = 0; attempt < 20 && held.length === 0; attempt++) {
    await until(`${VICTIM} holds an image`, async () => (await heldBy()).length > 0, 120_000, 20);
    await podman('pause', victim.name);
    // A statement it sent just before it froze may still be running.
    await until(`${VICTIM}'s last statements finish`, async () => (await running()) === 0, 30_000, 20);
    held = await heldBy();
    if (held.length === 0) await podman('unpause', victim.name);
  }
  assert.ok(held.length > 0, `${VICTIM} was never caught holding an image`);
  await podman('kill', '--signal', 'KILL', victim.name);
  assert.equal(await podman('wait', victim.name), '137', 'killed by SIGKILL');
  return held;
}

/** Every row names its original and its result in the blob store, with their sizes; PostgreSQL holds no image bytes. */
async function checkBlobs(sql: pg.Pool, store: BlobSetup, survivor: { c: Container; url: string }): Promise<void> {
  const { rows } = await sql.query<BlobRow>(
    `SELECT id, original_key, processed_key, original_bytes, processed_bytes,
            length(original_data) AS original_data_length, length(processed_data) AS processed_data_length
       FROM processed_images ORDER BY id`,
  );
  assert.equal(rows.length, TOTAL);
  for (const r of rows) {
    assert.ok(r.original_key && r.processed_key, `image ${r.id} names no blob: ${JSON.stringify(r)}`);
    assert.ok(Number(r.original_bytes) > 0 && Number(r.processed_bytes) > 0, `image ${r.id}: sizes ${r.original_bytes}, ${r.processed_bytes}`);
    assert.equal(r.original_data_length, null, `image ${r.id}: the original's bytes are in PostgreSQL`);
    assert.equal(r.processed_data_length, null, `image ${r.id}: the result's bytes are in PostgreSQL`);
  }
  await store.verifyStored(rows, survivor);
}
