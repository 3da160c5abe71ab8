/**
 * The composition root: configuration → database (embedded if none given) →
 * migrations → LISTEN → worker pool → dispatcher → HTTP. `startBackend`
 * is what `npm start`, the tests, the benchmark and the desktop tests use.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { databaseTarget, loadEnv, podName as resolvePodName, redisUrl, type Env } from './config/env.js';
import { effectiveDataDir, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrations.js';
import { createPool } from './db/pool.js';
import { createApp } from './http/app.js';
import type { AppContext } from './http/context.js';
import { defaultWebRoot } from './http/web.js';
import type { ResizeRules } from './imaging/index.js';
import { createLogger, type Logger } from './logger.js';
import { metricsRouter } from './http/routes/metrics.js';
import { createMetricsHub, createPipelineMetrics, type MetricsHub } from './metrics/index.js';
import { Dispatcher } from './queue/dispatcher.js';
import { Notifications } from './queue/notifications.js';
import { ImageRepository } from './queue/repository.js';
import { Semaphore } from './util/semaphore.js';
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
   * Graceful stop: not ready, claim nothing, finish in-flight images within
   * the grace period (default SHUTDOWN_GRACE_SECONDS), hand back the rest,
   * close everything.
   */
  stop(graceMs?: number): Promise<{ finished: number; released: number }>;
}

export interface StartOptions {
  logger?: Logger;
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

export async function startBackend(source: NodeJS.ProcessEnv = process.env, options: StartOptions = {}): Promise<Backend> {
  const env = loadEnv(source);
  const pod = resolvePodName(env);
  const logger = options.logger ?? createLogger(env.LOG_LEVEL, { pod });
  const cleanups: (() => Promise<unknown>)[] = [];
  const runCleanups = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.warn({ err: String(err) }, 'cleanup failed'));
    cleanups.length = 0;
  };

  try {
    let embedded: EmbeddedDatabase | undefined;
    const target = databaseTarget(env);
    let databaseUrl: string;
    if (target.kind === 'url') {
      databaseUrl = target.url;
    } else {
      embedded = await startEmbeddedPostgres({
        dataDir: effectiveDataDir(env.DATA_DIR, source.DATA_DIR !== undefined && source.DATA_DIR !== ''),
        port: env.EMBEDDED_PG_PORT,
        database: env.DB_NAME,
        logger,
      });
      cleanups.push(() => embedded!.stop());
      databaseUrl = embedded.url;
    }

    const db = createPool(databaseUrl, env.DB_POOL_SIZE);
    cleanups.push(() => db.end());
    const migrationClient = await db.connect();
    try {
      const applied = await migrate(migrationClient);
      if (applied.length) logger.info({ applied }, 'database migrations applied');
    } finally {
      migrationClient.release();
    }

    const notifications = new Notifications(databaseUrl, logger);
    await notifications.start();
    cleanups.push(() => notifications.stop());

    const repo = new ImageRepository(db);
    const rules = rulesFrom(env);
    const pool = new ResizePool(env.WORKER_THREADS);
    cleanups.push(() => pool.close());
    const dispatcher = new Dispatcher(
      repo,
      pool,
      { podName: pod, leaseSeconds: env.LEASE_SECONDS, maxAttempts: env.MAX_ATTEMPTS, pollMs: env.QUEUE_POLL_MS, rules },
      logger,
    );
    notifications.on('work', () => dispatcher.kick());

    const pipelineMetrics = createPipelineMetrics({ defaultLabels: { pod }, logger });
    dispatcher.onOutcome((o) => {
      if (o.status === 'completed') pipelineMetrics.recordCompleted(o.ms / 1000);
      else pipelineMetrics.recordFailed(o.errorCode ?? 'OTHER');
    });
    const metrics = createMetricsHub({
      podName: pod,
      redisUrl: redisUrl(env),
      periodSeconds: env.METRICS_PERIOD,
      functionOutputKey: env.FUNCTION_OUTPUT_KEY,
      nodeName: env.NODE_NAME,
      logger,
      // Once a period: the pool's figures and the cluster-wide queue, then the snapshot's app-* fields.
      appStats: async () => {
        pipelineMetrics.setThreads(dispatcher.busy, dispatcher.threads);
        pipelineMetrics.setQueueSize(await repo.pendingCount().catch(() => 0));
        return pipelineMetrics.appStats();
      },
    });

    let ready = false;
    const ctx: AppContext = {
      repo,
      dispatcher,
      notifications,
      rules,
      logger,
      podName: pod,
      maxFilesPerUpload: env.MAX_FILES_PER_UPLOAD,
      // Files held in memory at once across all uploads: enough to keep the pool fed.
      memorySlots: new Semaphore(Math.max(2, env.WORKER_THREADS)),
      isReady: () => ready && !dispatcher.isDraining,
      onUploadedFile: (bytes, accepted) => pipelineMetrics.recordUpload(bytes, accepted),
    };
    const app = createApp(ctx, {
      apiToken: env.API_TOKEN,
      webRoot: env.WEB_ROOT ?? defaultWebRoot(),
      metricsRouter: metricsRouter(metrics, { logger }),
      prometheus: pipelineMetrics.handler,
    });

    const server = http.createServer(app);
    // Large uploads on slow links must not be cut by Node's default request timeout.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(env.PORT, env.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Event streams never end by themselves.
          setTimeout(() => server.closeAllConnections(), 1000).unref();
        }),
    );
    const { port } = server.address() as AddressInfo;
    const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    dispatcher.start();
    metrics.start();
    cleanups.push(() => metrics.stop());
    ready = true;
    logger.info({ url, pod, workerId: dispatcher.workerId, threads: env.WORKER_THREADS }, 'imgfleet backend ready');

    let stopping: Promise<{ finished: number; released: number }> | undefined;
    return {
      url,
      port,
      podName: pod,
      workerId: dispatcher.workerId,
      databaseUrl,
      env,
      logger,
      dispatcher,
      metrics,
      stop(graceMs = env.SHUTDOWN_GRACE_SECONDS * 1000) {
        stopping ??= (async () => {
          ready = false;
          const outcome = await dispatcher.drain(graceMs);
          logger.info(outcome, 'drained');
          await runCleanups();
          return outcome;
        })();
        return stopping;
      },
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
