/**
 * Configuration from the environment, validated once at start-up. A bad value
 * stops the process with a message naming the variable, rather than failing
 * later in some unrelated place.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function defaultDataDir(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return path.join(xdg && xdg !== '' ? xdg : path.join(os.homedir(), '.local', 'share'), 'imgfleet');
}

/** Every variable the backend reads. The README's configuration table mirrors it. */
export const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  POD_NAME: optionalText,

  DATABASE_URL: optionalText,
  DB_HOST: optionalText,
  DB_PORT: int(1, 65535).default(5432),
  DB_USER: z.string().default('postgres'),
  DB_PASSWORD: z.string().default('postgres'),
  DB_NAME: z.string().default('imagedb'),
  DB_POOL_SIZE: int(2, 100).default(10),
  DATA_DIR: z.string().default(defaultDataDir()),
  EMBEDDED_PG_PORT: int(1, 65535).default(54329),

  /**
   * Where photos' bytes live: `filesystem` (BLOB_DIR; in Kubernetes a
   * ReadWriteMany volume every pod mounts), `postgres` (the queue row's
   * BYTEA columns) or `s3` (S3_BUCKET on any S3-compatible store).
   */
  BLOB_STORE: z.enum(['filesystem', 'postgres', 's3']).default('filesystem'),
  /** The filesystem store's folder; default `<DATA_DIR>/blobs`. */
  BLOB_DIR: optionalText,
  /**
   * A blob no row names is removed once it is this old: a pod killed
   * between writing a photo and committing its row leaves one. Longer than
   * the longest upload request (REQUEST_TIMEOUT_SECONDS).
   */
  BLOB_ORPHAN_GRACE_SECONDS: z.coerce
    .number()
    .min(1)
    .max(30 * 86400)
    .default(3600),
  /** The S3 store's bucket (created at start when missing, if the credentials allow it). */
  S3_BUCKET: optionalText,
  /** A key prefix inside the bucket, e.g. `imgfleet/` (several installations can share a bucket). */
  S3_PREFIX: z.string().default(''),
  /** Path-style addressing (`endpoint/bucket/key`), which Ceph RGW, MinIO and most non-AWS stores need. */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0', ''])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** Longest wait for a connection to the S3 store. */
  S3_CONNECT_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(5),
  /**
   * Longest the S3 store may keep a read waiting for its answer to start,
   * a write without progress (bytes taken or answered), and a download
   * without its next bytes.
   */
  S3_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),

  WORKER_THREADS: int(1, 64).default(4),
  MAX_WIDTH: int(1, 20000).default(800),
  MAX_HEIGHT: int(1, 20000).default(600),
  JPEG_QUALITY: int(1, 100).default(85),
  /** The largest box a batch may ask for (its `width` and `height` options). */
  MAX_BOX_WIDTH: int(1, 20000).default(8192),
  MAX_BOX_HEIGHT: int(1, 20000).default(8192),
  MAX_UPLOAD_BYTES: int(1, 1024 * 1024 * 1024).default(50 * 1024 * 1024),
  MAX_PIXELS: int(1, 1_000_000_000).default(100_000_000),
  MAX_FILES_PER_UPLOAD: int(1, 10000).default(1000),

  LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  MAX_ATTEMPTS: int(1, 100).default(3),
  QUEUE_POLL_MS: int(50, 60000).default(2000),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(25),

  /** Files held in memory at once across all uploads (default: max(2, WORKER_THREADS)). */
  UPLOAD_SLOTS: int(1, 1000).optional(),
  /** Upload requests being stored at once (each holds one database transaction). */
  UPLOAD_CONCURRENCY: int(1, 200).default(8),
  UPLOAD_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(3600).default(30),
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(1).max(86400).default(900),
  HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(20),
  /** Longer than this without a free upload slot, and the pod says it is not ready. */
  READY_SLOT_WAIT_SECONDS: z.coerce.number().min(0.1).max(3600).default(10),
  /**
   * What any image may take, whatever its work: its time limit is this plus
   * IMAGE_TIME_SLACK times the work its job-cost model expects, counted in a
   * fair share of a core (workers/time-limit.ts).
   */
  IMAGE_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(3600).default(10),
  /** How many times its expected work an image may take before it counts as stuck. */
  IMAGE_TIME_SLACK: z.coerce.number().min(1).max(100).default(4),
  /**
   * Memory the resize jobs in flight may need at once (decode + resize +
   * encode of each). Default: the container's memory limit minus what the
   * process needs beside the jobs (workers/memory-budget.ts).
   */
  JOB_MEMORY_MB: int(16, 1024 * 1024).optional(),
  /** The earlier name of JOB_MEMORY_MB (it budgeted decodes only); used when JOB_MEMORY_MB is not set. */
  DECODE_MEMORY_MB: int(16, 1024 * 1024).optional(),
  /**
   * Uploaded originals that may wait in memory for this pod's next free
   * thread instead of being read back from PostgreSQL (0: none wait).
   */
  HANDOFF_MEMORY_MB: int(0, 1024 * 1024).default(64),
  IDEMPOTENCY_TTL_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 365)
    .default(24),
  /** How long a request waits for a concurrent one with the same Idempotency-Key before 409. */
  IDEMPOTENCY_WAIT_SECONDS: z.coerce.number().min(1).max(600).default(30),
  /**
   * An upload transaction whose pod sends nothing for this long is ended by
   * PostgreSQL, releasing its Idempotency-Key (a live pod sends a statement
   * every third of it, however slow its client): the bound on a frozen pod.
   */
  UPLOAD_TX_IDLE_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  /**
   * Hours after an image finished (completed or failed) before the bytes of
   * its original are dropped; its row, result and metadata stay. 0 keeps originals.
   */
  RETENTION_ORIGINAL_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 3650)
    .default(24),
  /** Days after a batch's last activity (upload or finished image) before the whole batch is deleted. 0 keeps batches. */
  RETENTION_BATCH_DAYS: z.coerce.number().min(0).max(3650).default(7),
  /** How often each pod runs the retention sweep (one pod at a time sweeps). */
  RETENTION_SWEEP_SECONDS: z.coerce.number().min(0.1).max(86400).default(300),
  /** Rows one retention statement touches at most, so no sweep holds a long lock. */
  RETENTION_SWEEP_ROWS: int(1, 10000).default(100),

  API_TOKEN: optionalText,
  /**
   * Host names (besides the built-in ones) a request's Host header may name:
   * comma separated, `.example.org` for a domain and its subdomains, `*` for any.
   */
  ALLOWED_HOSTS: optionalText,
  /** The pod's namespace (downward API), for the Service names a pod answers to. */
  POD_NAMESPACE: optionalText,
  /** The built web UI served at `/`; default: the desktop workspace's renderer build. */
  WEB_ROOT: optionalText,
  /**
   * Check every /api/v1 JSON answer against the schema its route declares,
   * answering 500 RESPONSE_INVALID on a mismatch (the tests turn it on).
   */
  VALIDATE_RESPONSES: z
    .enum(['0', '1', 'false', 'true'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),

  REDIS_URL: optionalText,
  REDIS_HOST: optionalText,
  REDIS_PORT: int(1, 65535).default(6379),
  METRICS_PERIOD: z.coerce.number().min(0.1).max(3600).default(5),
  /**
   * Where the function runtime writes its derived figures, one key per pod
   * (`<key>:<pod>`). Unset: the backend derives them in-process with the
   * bundled default handler.
   */
  FUNCTION_OUTPUT_KEY: optionalText,
  /**
   * Prepended verbatim to every metrics key and channel (snapshots, history,
   * the function's output and error keys), so two installations can share a
   * Redis; the function runtime takes the same prefix. Default none: the
   * course's key names. No glob characters: the runtime's input key is a glob.
   */
  METRICS_KEY_PREFIX: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9._:/@-]*$/, 'letters, digits and . _ : / @ - only (no spaces, no Redis glob characters * ? [ ] \\)')
    .default(''),
  /** The node the pod runs on (downward API `spec.nodeName`), for the snapshot's `node`; default from the kernel's boot id. */
  NODE_NAME: optionalText,
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses `source` (default: process.env); throws ConfigError naming each bad variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}=${JSON.stringify(source[String(issue.path[0])] ?? '')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (result.data.BLOB_STORE === 's3' && !result.data.S3_BUCKET) {
    throw new ConfigError('invalid configuration:\n  S3_BUCKET="": BLOB_STORE=s3 needs the bucket to keep photos in');
  }
  return result.data;
}

/** The Postgres the backend should use, or `embedded` when none is configured. */
export type DatabaseTarget = { kind: 'url'; url: string } | { kind: 'embedded' };

export function databaseTarget(env: Env): DatabaseTarget {
  if (env.DATABASE_URL) return { kind: 'url', url: env.DATABASE_URL };
  if (env.DB_HOST) {
    const user = encodeURIComponent(env.DB_USER);
    const password = encodeURIComponent(env.DB_PASSWORD);
    return {
      kind: 'url',
      url: `postgres://${user}:${password}@${env.DB_HOST}:${env.DB_PORT}/${encodeURIComponent(env.DB_NAME)}`,
    };
  }
  return { kind: 'embedded' };
}

/** Redis connection URL, or undefined when Redis is not configured (metrics then flow in-process). */
export function redisUrl(env: Env): string | undefined {
  if (env.REDIS_URL) return env.REDIS_URL;
  if (env.REDIS_HOST) return `redis://${env.REDIS_HOST}:${env.REDIS_PORT}`;
  return undefined;
}

/** The filesystem store's folder. */
export function blobDir(env: Env): string {
  return env.BLOB_DIR ?? path.join(env.DATA_DIR, 'blobs');
}

export function podName(env: Env): string {
  return env.POD_NAME ?? os.hostname();
}
