/**
 * Prometheus metrics of the image pipeline, served as text on GET /metrics.
 * Each instance has its own registry (not prom-client's global one), so
 * several backends in one test process do not register the same names twice.
 *
 * The pipeline calls the record/set methods; they only update in-memory
 * numbers and never block or fail.
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppStats } from './snapshot-contract.js';

export interface PipelineMetricsOptions {
  /** Prefix of the pipeline's metric names (default `imgfleet_`); process_* and nodejs_* keep theirs. */
  prefix?: string;
  /** Labels added to every series, e.g. `{ pod }` when nothing upstream adds it. */
  defaultLabels?: Record<string, string>;
  /** prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
  /** Where a failure to render the text is logged. */
  logger?: Logger;
}

export interface PipelineMetrics {
  readonly registry: Registry;
  /** One uploaded file: its size, and whether it was accepted or rejected (bad type, too large, ...). */
  recordUpload(bytes: number, accepted: boolean): void;
  /** One image processed successfully, in `seconds` of processing time. */
  recordCompleted(seconds: number): void;
  /** One image failed, by its error code (CORRUPT_IMAGE, WORKER_CRASHED, ...). */
  recordFailed(code: string): void;
  setThreads(busy: number, total: number): void;
  setQueueSize(n: number): void;
  /**
   * This process's figures in the shape the metrics hub asks for, so
   * `createMetricsHub({ appStats: pipelineMetrics.appStats, ... })` works.
   * Counts are since this process started.
   */
  appStats: () => AppStats;
  /** Express handler for GET /metrics in Prometheus text format. */
  readonly handler: RequestHandler;
}

/** 10 ms (a small JPEG) to 30 s (a huge one on a busy pod), roughly ×2–2.5 apart. */
export const PROCESSING_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

/**
 * Failure codes become label values; an unexpected string (say, an error
 * message passed by mistake) must not create an unbounded number of series.
 */
function failureLabel(code: string): string {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}

const nonNegative = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/** The pipeline's series, registered in `registry` under `prefix`. */
function pipelineCollectors(registry: Registry, prefix: string) {
  const uploads = new Counter({
    name: `${prefix}uploads_total`,
    help: 'Uploaded files, by whether they were accepted for processing',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const uploadBytes = new Counter({
    name: `${prefix}upload_bytes_total`,
    help: 'Bytes of uploaded files, by whether they were accepted for processing',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const completed = new Counter({
    name: `${prefix}images_completed_total`,
    help: 'Images processed successfully by this process',
    registers: [registry],
  });
  const failed = new Counter({
    name: `${prefix}images_failed_total`,
    help: 'Images that failed, by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const processingSeconds = new Histogram({
    name: `${prefix}processing_seconds`,
    help: 'Time to process one image (decode, resize, encode), in seconds',
    buckets: PROCESSING_SECONDS_BUCKETS,
    registers: [registry],
  });
  const threadsBusy = new Gauge({
    name: `${prefix}worker_threads_busy`,
    help: 'Worker threads processing an image right now',
    registers: [registry],
  });
  const threadsTotal = new Gauge({
    name: `${prefix}worker_threads`,
    help: 'Worker threads in the pool',
    registers: [registry],
  });
  const queueSize = new Gauge({
    name: `${prefix}queue_size`,
    help: 'Images waiting for a worker thread in this process',
    registers: [registry],
  });
  // Pre-create the label combinations so the series exist (at 0) from the start.
  uploads.labels('accepted');
  uploads.labels('rejected');
  uploadBytes.labels('accepted');
  uploadBytes.labels('rejected');
  return { uploads, uploadBytes, completed, failed, processingSeconds, threadsBusy, threadsTotal, queueSize };
}

/** GET /metrics: the registry as Prometheus text; a failure is logged and answered with a JSON 500. */
function textHandler(registry: Registry, logger: Logger | undefined): RequestHandler {
  return (_req, res) => {
    registry
      .metrics()
      .then((text) => {
        res.status(200).set('Content-Type', registry.contentType).send(text);
      })
      .catch((err: unknown) => {
        logger?.error({ err }, 'metrics: rendering the Prometheus text failed');
        res.status(500).json({ error: `metrics unavailable: ${err instanceof Error ? err.message : 'unknown error'}`, code: 'METRICS_UNAVAILABLE' });
      });
  };
}

export function createPipelineMetrics(options: PipelineMetricsOptions = {}): PipelineMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const { uploads, uploadBytes, completed, failed, processingSeconds, threadsBusy, threadsTotal, queueSize } = pipelineCollectors(
    registry,
    options.prefix ?? 'imgfleet_',
  );

  // Plain mirrors of the figures the hub needs: reading them back from
  // prom-client is asynchronous and costlier than keeping a few numbers.
  const mirror = { busy: 0, total: 0, queue: 0, completed: 0, failed: 0, seconds: 0 };

  const handler = textHandler(registry, options.logger);

  return {
    registry,
    recordUpload(bytes, accepted) {
      const result = accepted ? 'accepted' : 'rejected';
      uploads.inc({ result });
      uploadBytes.inc({ result }, nonNegative(bytes));
    },
    recordCompleted(seconds) {
      const s = nonNegative(seconds);
      completed.inc();
      processingSeconds.observe(s);
      mirror.completed += 1;
      mirror.seconds += s;
    },
    recordFailed(code) {
      failed.inc({ code: failureLabel(code) });
      mirror.failed += 1;
    },
    setThreads(busy, total) {
      mirror.busy = nonNegative(busy);
      mirror.total = nonNegative(total);
      threadsBusy.set(mirror.busy);
      threadsTotal.set(mirror.total);
    },
    setQueueSize(n) {
      mirror.queue = nonNegative(n);
      queueSize.set(mirror.queue);
    },
    appStats() {
      return {
        activeThreads: mirror.busy,
        totalThreads: mirror.total,
        queueSize: mirror.queue,
        processedCount: mirror.completed,
        failedCount: mirror.failed,
        avgProcessTimeSeconds: mirror.completed > 0 ? mirror.seconds / mirror.completed : 0,
      };
    },
    handler,
  };
}
