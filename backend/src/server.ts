/**
 * The composition root: configuration → database (embedded if none given) →
 * migrations → LISTEN → worker pool → dispatcher → HTTP. `startBackend`
 * is what `npm start`, the tests, the benchmark and the desktop tests use.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import type pg from 'pg';
import { databaseTarget, loadEnv, podName as resolvePodName, redisUrl, type Env } from './config/env.js';
import { effectiveDataDir, startEmbeddedPostgres } from './db/embedded.js';
import { migrate } from './db/migrations.js';
import { createPool, withClient } from './db/pool.js';
import { createApp } from './http/app.js';
import { hostRules } from './http/browser-guard.js';
import type { AppContext } from './http/context.js';
import { ActiveUploads, type UploadDeps } from './http/upload/index.js';
import { catalogueSource, createDownloads, type ActiveDownloads } from './http/downloads/index.js';
import { defaultWebRoot } from './http/web.js';
import { BOX_PRESETS, buildOutputOptionsSchema, OUTPUT_FORMATS, type OutputOptionsSchema } from './contract/output-options.js';
import type { ServerConfig } from './contract/api.js';
import { optionsFromRules, type ResizeRules } from './imaging/index.js';
import { BACKEND_VERSION } from './version.js';
import { createLogger, type Logger } from './logger.js';
import { metricsRouter } from './http/routes/metrics.js';
import { createMetricsHub, createPipelineMetrics, type MetricsHub, type PipelineMetrics } from './metrics/index.js';
import { Dispatcher } from './queue/dispatcher.js';
import { Notifications } from './queue/notifications.js';
import { ImageCatalogue } from './queue/catalogue.js';
import { ImageRepository } from './queue/repository.js';
import { ImagesService } from './http/images-service.js';
import { StatusCache } from './queue/status-cache.js';
import type { BlobStore } from './blobs/blob-store.js';
import { openBlobStore } from './blobs/open-store.js';
import { createReadiness } from './readiness.js';
import { startRetention } from './retention/index.js';
import { Semaphore } from './util/semaphore.js';
import { MachineSpeed } from './workers/machine-speed.js';
import { memoryBudget, type MemoryBudget } from './workers/memory-budget.js';
import { ResizePool } from './workers/pool.js';

export interface Backend {
  url: string;
  port: number;
  podName: string;
  workerId: string;
  databaseUrl: string;
  env: Env;
  logger: Logger;
  dispatcher: Dispatcher;
  metrics: MetricsHub;
  /**
   * Graceful stop: not ready, no new connections, uploads in progress and
   * in-flight images finish within the grace period (default
   * SHUTDOWN_GRACE_SECONDS), the rest is handed back, everything closed.
   */
  stop(graceMs?: number): Promise<{ finished: number; released: number }>;
}

export interface StartOptions {
  logger?: Logger;
}

/** What this server accepts and does by default, as GET /api/v1/config serves it. */
export function serverConfigFrom(env: Env): ServerConfig {
  const rules = rulesFrom(env);
  const budget = memoryBudgetOf(env).bytes;
  return {
    version: BACKEND_VERSION,
    defaults: optionsFromRules(rules),
    limits: {
      maxWidth: env.MAX_BOX_WIDTH,
      maxHeight: env.MAX_BOX_HEIGHT,
      formats: OUTPUT_FORMATS,
      maxUploadBytes: env.MAX_UPLOAD_BYTES,
      maxPixels: env.MAX_PIXELS,
      maxFilesPerUpload: env.MAX_FILES_PER_UPLOAD,
      jobMemoryBytes: budget,
      decodeMemoryBytes: budget,
    },
    presets: BOX_PRESETS,
    formats: OUTPUT_FORMATS,
  };
}

/** The jobs' memory budget: JOB_MEMORY_MB, its earlier name DECODE_MEMORY_MB, else from the container's limit. */
export function memoryBudgetOf(env: Env): MemoryBudget {
  return memoryBudget(env.JOB_MEMORY_MB ?? env.DECODE_MEMORY_MB);
}

export function rulesFrom(env: Env): ResizeRules {
  return {
    maxWidth: env.MAX_WIDTH,
    maxHeight: env.MAX_HEIGHT,
    quality: env.JPEG_QUALITY,
    maxPixels: env.MAX_PIXELS,
    maxBytes: env.MAX_UPLOAD_BYTES,
  };
}

/** Cleanups run last-in first-out, each bounded so a stuck one cannot hold the exit. */
class Cleanups {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];

  constructor(private readonly logger: Logger) {}

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /**
   * Runs every step, but all of them within `budgetMs`: a step still running
   * when the budget is spent (a worker thread stuck in a native decode, a
   * connection that will not close) is left behind, since the process exits next.
   */
  async runAll(budgetMs = 1500): Promise<void> {
    const deadline = Date.now() + budgetMs;
    for (const { name, run } of this.steps.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(
          () => {
            this.logger.warn({ step: name }, 'cleanup step took too long; going on without it');
            resolve();
          },
          Math.max(10, deadline - Date.now()),
        );
      });
      await Promise.race([run().catch((err: unknown) => this.logger.warn({ err, step: name }, 'cleanup failed')), timeout]);
      clearTimeout(timer);
    }
    this.steps.length = 0;
  }
}

async function openDatabase(env: Env, source: NodeJS.ProcessEnv, logger: Logger, cleanups: Cleanups): Promise<{ databaseUrl: string; db: pg.Pool }> {
  const target = databaseTarget(env);
  let databaseUrl: string;
  if (target.kind === 'url') {
    databaseUrl = target.url;
  } else {
    const embedded = await startEmbeddedPostgres({
      dataDir: effectiveDataDir(env.DATA_DIR, source.DATA_DIR !== undefined && source.DATA_DIR !== ''),
      port: env.EMBEDDED_PG_PORT,
      database: env.DB_NAME,
      logger,
    });
    cleanups.add('embedded postgres', () => embedded.stop());
    databaseUrl = embedded.url;
  }
  const db = createPool(databaseUrl, env.DB_POOL_SIZE);
  cleanups.add('database pool', () => db.end());
  const applied = await withClient(db, (client) => migrate(client));
  if (applied.length) logger.info({ applied }, 'database migrations applied');
  return { databaseUrl, db };
}

function createHttpServer(app: http.RequestListener, env: Env): http.Server {
  const server = http.createServer(app);
  // A whole request (a large upload on a slow link included) must arrive within this.
  server.requestTimeout = env.REQUEST_TIMEOUT_SECONDS * 1000;
  server.headersTimeout = Math.min(env.HEADERS_TIMEOUT_SECONDS, env.REQUEST_TIMEOUT_SECONDS) * 1000;
  server.keepAliveTimeout = 65_000;
  return server;
}

async function listen(server: http.Server, env: Env): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, env.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port };
}

function wireMetrics(env: Env, pod: string, logger: Logger, dispatcher: Dispatcher, catalogue: ImageCatalogue) {
  const pipelineMetrics = createPipelineMetrics({ defaultLabels: { pod }, logger });
  dispatcher.onOutcome((o) => {
    if (o.status === 'completed') pipelineMetrics.recordCompleted(o.ms / 1000);
    else pipelineMetrics.recordFailed(o.errorCode ?? 'OTHER');
  });
  const hub = createMetricsHub({
    podName: pod,
    redisUrl: redisUrl(env),
    periodSeconds: env.METRICS_PERIOD,
    prefix: env.METRICS_KEY_PREFIX,
    functionOutputKey: env.FUNCTION_OUTPUT_KEY,
    nodeName: env.NODE_NAME,
    logger,
    // Once a period: the pool's figures and the cluster-wide queue, then the snapshot's app-* fields.
    appStats: async () => {
      pipelineMetrics.setThreads(dispatcher.busy, dispatcher.threads);
      pipelineMetrics.setQueueSize(await catalogue.pendingCount().catch(() => 0));
      return pipelineMetrics.appStats();
    },
  });
  return { pipelineMetrics, hub };
}

/** The dispatcher as configured by the environment (dispatcher.ts). */
function createDispatcher(
  env: Env,
  parts: {
    pod: string;
    repo: ImageRepository;
    pool: ResizePool;
    blobs: BlobStore;
    speed: MachineSpeed;
    budget: MemoryBudget;
    config: ServerConfig;
    optionsSchema: OutputOptionsSchema;
  },
  logger: Logger,
): Dispatcher {
  const { pool, speed, budget, config } = parts;
  return new Dispatcher(
    parts.repo,
    pool,
    parts.blobs,
    {
      podName: parts.pod,
      leaseSeconds: env.LEASE_SECONDS,
      maxAttempts: env.MAX_ATTEMPTS,
      pollMs: env.QUEUE_POLL_MS,
      rules: rulesFrom(env),
      defaults: config.defaults,
      optionsSchema: parts.optionsSchema,
      memoryBudgetBytes: budget.bytes,
      ...(budget.limitBytes === undefined ? {} : { memoryLimitBytes: budget.limitBytes }),
      timeLimit: { baseMs: env.IMAGE_TIMEOUT_SECONDS * 1000, slack: env.IMAGE_TIME_SLACK, speed: () => speed.current() },
      observeWork: (cpuMs: number, workMs: number) => speed.observe(cpuMs, workMs, pool.crowding),
      handOffBytes: env.HANDOFF_MEMORY_MB * 1024 * 1024,
    },
    logger,
  );
}

/** The LISTEN connection (status changes, work, deletions from every pod), closed with the rest. */
async function listenForNotifications(databaseUrl: string, logger: Logger, cleanups: Cleanups): Promise<Notifications> {
  const notifications = new Notifications(databaseUrl, logger);
  await notifications.start();
  cleanups.add('LISTEN connection', () => notifications.stop());
  return notifications;
}

/** The configured blob store, closed with the rest. */
async function openStore(env: Env, db: pg.Pool, logger: Logger, cleanups: Cleanups): Promise<BlobStore> {
  const blobs = await openBlobStore(env, db, logger);
  cleanups.add('blob store', () => blobs.close());
  // A store that cannot be written yet (a volume not mounted, a bucket missing) keeps the pod unready, with the reason; it does not stop it.
  await blobs.check().catch((err: unknown) => logger.error({ err, store: blobs.kind }, 'the blob store is not usable; not ready until it is'));
  return blobs;
}

/** This machine's speed, measured in the background: until it is known, limits assume the reference machine's, and every job that completes corrects them. */
function measureSpeed(pool: ResizePool, logger: Logger): MachineSpeed {
  const speed = new MachineSpeed();
  void speed.calibrate(pool).then(
    (found) => logger.info({ speed: Number(found.toFixed(2)) }, 'machine speed measured'),
    (err: unknown) => logger.warn({ err }, 'measuring the machine speed failed; the jobs themselves will'),
  );
  return speed;
}

/** What the upload routes need (upload/deps.ts), as configured by the environment. */
function uploadDeps(
  env: Env,
  parts: {
    blobs: BlobStore;
    ingestDb: pg.Pool;
    db: pg.Pool;
    dispatcher: Dispatcher;
    rules: ResizeRules;
    optionsSchema: OutputOptionsSchema;
    memorySlots: Semaphore;
    requestSlots: Semaphore;
    budget: MemoryBudget;
    uploads: ActiveUploads;
    pipelineMetrics: PipelineMetrics;
  },
  logger: Logger,
): UploadDeps {
  const { pipelineMetrics } = parts;
  return {
    blobs: parts.blobs,
    ingestDb: parts.ingestDb,
    lookupDb: parts.db,
    dispatcher: parts.dispatcher,
    rules: parts.rules,
    optionsSchema: parts.optionsSchema,
    maxFiles: env.MAX_FILES_PER_UPLOAD,
    memorySlots: parts.memorySlots,
    requestSlots: parts.requestSlots,
    idleTimeoutMs: env.UPLOAD_IDLE_TIMEOUT_SECONDS * 1000,
    memoryBudgetBytes: parts.budget.bytes,
    keyWaitMs: env.IDEMPOTENCY_WAIT_SECONDS * 1000,
    transactionHeartbeatMs: (env.UPLOAD_TX_IDLE_SECONDS * 1000) / 3,
    uploads: parts.uploads,
    logger,
    onFile: (bytes, accepted) => pipelineMetrics.recordUpload(bytes, accepted),
  };
}

/** Why the pod cannot take uploads now: the database, the blob store, or uploads left waiting for a slot. */
function readiness(
  env: Env,
  repo: ImageRepository,
  blobs: BlobStore,
  slots: { memorySlots: Semaphore; requestSlots: Semaphore },
): () => Promise<string | undefined> {
  return createReadiness({
    probes: [
      { name: 'database unreachable', check: () => repo.ping(), everyMs: 1000 },
      { name: `${blobs.kind} blob store not usable`, check: () => blobs.check(), everyMs: 5000 },
    ],
    slots: [
      { name: 'upload memory', semaphore: slots.memorySlots },
      { name: 'upload request', semaphore: slots.requestSlots },
    ],
    maxSlotWaitMs: env.READY_SLOT_WAIT_SECONDS * 1000,
  });
}

/** The periodic sweeps: Idempotency-Keys past their time, and retention (originals, whole batches, orphan blobs). */
function startSweeps(
  env: Env,
  parts: { repo: ImageRepository; db: pg.Pool; blobs: BlobStore; registry: PipelineMetrics['registry'] },
  logger: Logger,
  cleanups: Cleanups,
): void {
  const sweep = setInterval(() => {
    parts.repo.forgetUploadKeys(env.IDEMPOTENCY_TTL_HOURS).catch((err: unknown) => logger.warn({ err }, 'forgetting old idempotency keys failed'));
  }, 10 * 60_000);
  sweep.unref();
  cleanups.add('key sweep', async () => clearInterval(sweep));
  const sweeper = startRetention(parts.db, parts.blobs, env, parts.registry, logger);
  cleanups.add('retention sweep', () => sweeper.stop());
}

export async function startBackend(source: NodeJS.ProcessEnv = process.env, options: StartOptions = {}): Promise<Backend> {
  const env = loadEnv(source);
  const pod = resolvePodName(env);
  const logger = options.logger ?? createLogger(env.LOG_LEVEL, { pod });
  const cleanups = new Cleanups(logger);
  try {
    const { databaseUrl, db } = await openDatabase(env, source, logger, cleanups);
    const notifications = await listenForNotifications(databaseUrl, logger, cleanups);

    const blobs = await openStore(env, db, logger, cleanups);
    const repo = new ImageRepository(db, blobs);
    const catalogue = new ImageCatalogue(db, blobs);
    const rules = rulesFrom(env);
    const pool = new ResizePool(env.WORKER_THREADS);
    cleanups.add('worker pool', () => pool.close());
    const speed = measureSpeed(pool, logger);
    const budget = memoryBudgetOf(env);
    const config = serverConfigFrom(env);
    const optionsSchema = buildOutputOptionsSchema(config.limits, config.defaults);
    logger.info({ memoryBudgetMiB: Math.round(budget.bytes / 2 ** 20), budgetFrom: budget.source }, 'job memory budget');
    const dispatcher = createDispatcher(env, { pod, repo, pool, blobs, speed, budget, config, optionsSchema }, logger);
    notifications.on('work', () => dispatcher.kick());
    const { pipelineMetrics, hub: metrics } = wireMetrics(env, pod, logger, dispatcher, catalogue);

    const ingestDb = createPool(databaseUrl, env.UPLOAD_CONCURRENCY, {
      idleInTransactionMs: env.UPLOAD_TX_IDLE_SECONDS * 1000,
      applicationName: 'imgfleet-upload',
    });
    cleanups.add('upload pool', () => ingestDb.end());
    const uploads = new ActiveUploads();
    const memorySlots = new Semaphore(env.UPLOAD_SLOTS ?? Math.max(2, env.WORKER_THREADS));
    const requestSlots = new Semaphore(env.UPLOAD_CONCURRENCY);
    let ready = false;
    const images = new ImagesService({ catalogue, db, blobs, rowsPerStatement: env.RETENTION_SWEEP_ROWS });
    const downloads = createDownloads(catalogueSource(images));
    const ctx: AppContext = {
      config,
      images,
      downloads,
      statuses: new StatusCache(notifications),
      dispatcher,
      notifications,
      rules,
      logger,
      podName: pod,
      upload: uploadDeps(env, { blobs, ingestDb, db, dispatcher, rules, optionsSchema, memorySlots, requestSlots, budget, uploads, pipelineMetrics }, logger),
      isReady: () => ready && !dispatcher.isDraining,
      notReadyReason: readiness(env, repo, blobs, { memorySlots, requestSlots }),
    };
    const app = createApp(ctx, {
      apiToken: env.API_TOKEN,
      hostRules: hostRules(env, source),
      webRoot: env.WEB_ROOT ?? defaultWebRoot(),
      metricsRouter: metricsRouter(metrics, { logger }, { validateResponses: env.VALIDATE_RESPONSES }),
      prometheus: pipelineMetrics.handler,
      validateResponses: env.VALIDATE_RESPONSES,
    });
    const server = createHttpServer(app, env);
    const { url, port } = await listen(server, env);
    cleanups.add('http server', () => closeServer(server));

    dispatcher.start();
    metrics.start();
    cleanups.add('metrics', () => metrics.stop());
    startSweeps(env, { repo, db, blobs, registry: pipelineMetrics.registry }, logger, cleanups);
    ready = true;
    logger.info({ url, pod, workerId: dispatcher.workerId, threads: env.WORKER_THREADS }, 'imgfleet backend ready');

    let stopping: Promise<{ finished: number; released: number }> | undefined;
    const stop = (graceMs = env.SHUTDOWN_GRACE_SECONDS * 1000) =>
      (stopping ??= (async () => {
        ready = false;
        const outcome = await drainAll({ server, uploads, downloads: downloads.active, dispatcher, graceMs });
        logger.info(outcome, 'drained');
        await cleanups.runAll();
        return outcome;
      })());
    return { url, port, podName: pod, workerId: dispatcher.workerId, databaseUrl, env, logger, dispatcher, metrics, stop };
  } catch (err) {
    await cleanups.runAll();
    throw err;
  }
}

/**
 * The graceful part of a stop: no new connections (the kubelet's Service has
 * already stopped routing here), idle keep-alive connections closed, then
 * uploads in progress, downloads in progress (a ZIP half sent) and images in
 * flight all get the grace period; what is still open after it (event
 * streams, which never end by themselves, a client that never finishes) is cut.
 */
async function drainAll(parts: { server: http.Server; uploads: ActiveUploads; downloads: ActiveDownloads; dispatcher: Dispatcher; graceMs: number }) {
  const { server, uploads, downloads, dispatcher, graceMs } = parts;
  server.close();
  server.closeIdleConnections();
  // A kept-alive connection that was busy at the close ends after its next answer: its client reconnects to another pod.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  // Uploads first: each may hand new images to the queue (pending, for other pods).
  const [outcome] = await Promise.all([dispatcher.drain(graceMs), uploads.settled(graceMs), downloads.settled(graceMs)]);
  // A finished response has been handed to the kernel ('finish'), which still sends it after the close.
  server.closeAllConnections();
  return outcome;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
