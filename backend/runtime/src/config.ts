/**
 * The function runtime's configuration. The environment variables are those
 * of the course runtime (lucasmsp/serverless:redis) plus the extras; they are
 * validated once at start-up so that a bad value stops the process with a
 * message naming the variable instead of surfacing later as a strange poll.
 *
 * One path to a RuntimeConfig: the environment is parsed into RuntimeOptions
 * (only what is set), and resolveRuntimeConfig fills every default, once, for
 * the bin and for programmatic callers alike.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export class RuntimeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeConfigError';
  }
}

/** Everything startRuntime needs, already validated and defaulted. */
export interface RuntimeConfig {
  redisUrl: string;
  /** Reported to handlers as context.host / context.port, as the course runtime did. */
  redisHost: string;
  redisPort: number;
  /** A key, or a Redis glob such as `metrics:*` (one context per matching key). */
  inputKey: string;
  /** Undefined: the handler runs and nothing is written (the course runtime's behaviour). */
  outputKey: string | undefined;
  intervalSeconds: number;
  /** A .py, .js/.mjs/.cjs, .zip or a directory of modules. */
  functionPath: string;
  /** `module.function`; undefined means the file's own module and `handler`. */
  handlerFunction: string | undefined;
  callOnChangeOnly: boolean;
  handlerTimeoutSeconds: number;
  zipMaxBytes: number;
  zipMaxEntries: number;
  /** Expiry of the output key; 0 keeps it until overwritten (the course runtime's behaviour). */
  outputTtlSeconds: number;
  pythonBin: string;
  /** Port of /healthz and /metrics; 0 picks a free one (tests). */
  healthPort: number;
  /** What a handler may print per call before the rest of that call's output is dropped. */
  handlerOutputMaxBytes: number;
  /** pip requirement specifiers installed at start (REQUIREMENTS), e.g. `requests>=2.28`. */
  requirements: string[];
  /** A requirements file installed at start (the course image's NEW_REQUERIMENTS). */
  requirementsFile: string | undefined;
  /** Where pip installs them (`--target`); put on the handlers' PYTHONPATH. */
  pythonPackagesDir: string;
  requirementsTimeoutSeconds: number;
  /** Memory each handler process may use, in MiB; 0: no limit. See handler-limits.ts. */
  handlerMemoryMb: number;
  /** Put before the input and output keys (METRICS_KEY_PREFIX), so two installations share a Redis; '' by default. */
  metricsKeyPrefix: string;
}

export const DEFAULTS = {
  intervalSeconds: 5,
  functionPath: '/opt/usermodule.py',
  callOnChangeOnly: true,
  handlerTimeoutSeconds: 10,
  zipMaxBytes: 50 * 1024 * 1024,
  zipMaxEntries: 1000,
  outputTtlSeconds: 0,
  pythonBin: 'python3',
  healthPort: 8081,
  handlerOutputMaxBytes: 64 * 1024,
  pythonPackagesDir: path.join(os.tmpdir(), 'imgfleet-python-packages'),
  requirementsTimeoutSeconds: 300,
  // The runtime pod's limit is 256 Mi: the runtime (~95 MiB), six idle contexts (~10 MiB each, one per
  // backend pod at the autoscaler's most) and one handler at this limit fit in it. See handler-limits.ts.
  handlerMemoryMb: 96,
  metricsKeyPrefix: '',
} as const;

const HANDLER_FUNCTION_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Kubernetes ConfigMaps often carry empty strings for "unset"; treat them so. */
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);
const text = z.preprocess(blank, z.string().optional());
const seconds = (min: number, max: number) => z.preprocess(blank, z.coerce.number().min(min).max(max).optional());
const integer = (min: number, max: number) => z.preprocess(blank, z.coerce.number().int().min(min).max(max).optional());

/** Every variable the runtime reads. The README's runtime table mirrors it. */
export const runtimeEnvSchema = z.object({
  REDIS_URL: z.preprocess(
    blank,
    z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
  ),
  REDIS_HOST: text,
  REDIS_PORT: integer(1, 65535),
  REDIS_INPUT_KEY: text,
  REDIS_OUTPUT_KEY: text,
  INTERVAL: seconds(0.01, 86400),
  MONITORING_PERIOD: seconds(0.01, 86400),
  FUNCTION_PATH: text,
  FUNCTION_ZIP: text,
  HANDLER_FUNCTION: z.preprocess(blank, z.string().regex(HANDLER_FUNCTION_RE, 'must look like module.function, e.g. usermodule.handler').optional()),
  CALL_ON_CHANGE_ONLY: z.preprocess(blank, z.stringbool().optional()),
  HANDLER_TIMEOUT: seconds(0.01, 86400),
  ZIP_MAX_BYTES: integer(1, 4 * 1024 * 1024 * 1024),
  ZIP_MAX_ENTRIES: integer(1, 1_000_000),
  OUTPUT_TTL: seconds(0, 365 * 86400),
  PYTHON_BIN: text,
  HEALTH_PORT: integer(0, 65535),
  HANDLER_OUTPUT_MAX_BYTES: integer(0, 1024 * 1024 * 1024),
  REQUIREMENTS: text,
  NEW_REQUERIMENTS: text,
  PYTHON_PACKAGES_DIR: text,
  REQUIREMENTS_TIMEOUT: seconds(1, 86400),
  HANDLER_MEMORY_MB: z.preprocess(
    blank,
    z.coerce
      .number()
      .int()
      .min(0)
      .max(1024 * 1024)
      .refine((mb) => mb === 0 || mb >= 32, 'must be 0 (no limit) or at least 32')
      .optional(),
  ),
  METRICS_KEY_PREFIX: text,
  // pip reads these itself (the runtime passes its environment on); listed so
  // that a manifest setting them is known to be read.
  PIP_INDEX_URL: text,
  PIP_EXTRA_INDEX_URL: text,
  PIP_FIND_LINKS: text,
  PIP_NO_INDEX: text,
  PIP_TRUSTED_HOST: text,
  LOG_LEVEL: text,
});

type RuntimeEnv = z.infer<typeof runtimeEnvSchema>;

/** Options for programmatic use: only the Redis URL and the input key are required. */
export type RuntimeOptions = Pick<RuntimeConfig, 'redisUrl' | 'inputKey'> & Partial<Omit<RuntimeConfig, 'redisUrl' | 'inputKey'>>;

function parseEnv(source: NodeJS.ProcessEnv): RuntimeEnv {
  const result = runtimeEnvSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `  ${name}=${JSON.stringify(source[name] ?? '')}: ${issue.message}`;
    });
    throw new RuntimeConfigError(`invalid runtime configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

function checkEnv(env: RuntimeEnv): void {
  const problems: string[] = [];
  if (!env.REDIS_INPUT_KEY) {
    // The course runtime would poll the key `None`; saying so is kinder.
    problems.push('  REDIS_INPUT_KEY: is required (the key, or a glob such as metrics:*, whose value the handler receives)');
  }
  if (env.INTERVAL !== undefined && env.MONITORING_PERIOD !== undefined && env.INTERVAL !== env.MONITORING_PERIOD) {
    problems.push(`  INTERVAL=${env.INTERVAL} and MONITORING_PERIOD=${env.MONITORING_PERIOD}: are aliases; set one, or both to the same value`);
  }
  if (problems.length > 0) throw new RuntimeConfigError(`invalid runtime configuration:\n${problems.join('\n')}`);
}

function redisFromEnv(env: RuntimeEnv): Pick<RuntimeConfig, 'redisUrl'> & Partial<RuntimeConfig> {
  if (env.REDIS_URL) return { redisUrl: env.REDIS_URL };
  const host = env.REDIS_HOST ?? 'localhost';
  const port = env.REDIS_PORT ?? 6379;
  return { redisUrl: `redis://${host.includes(':') ? `[${host}]` : host}:${port}`, redisHost: host, redisPort: port };
}

/** Splits REQUIREMENTS (`requests>=2.28 numpy`, or one per line, or comma-separated) into specifiers. */
export function splitRequirements(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((s) => s !== '');
}

/** Reads the configuration from `source` (default: process.env); throws RuntimeConfigError naming each bad variable. */
export function loadRuntimeConfig(source: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const env = parseEnv(source);
  checkEnv(env);
  const options: RuntimeOptions = {
    ...redisFromEnv(env),
    inputKey: env.REDIS_INPUT_KEY!,
    outputKey: env.REDIS_OUTPUT_KEY,
    intervalSeconds: env.MONITORING_PERIOD ?? env.INTERVAL,
    // FUNCTION_ZIP wins over FUNCTION_PATH: it is the more specific of the two.
    functionPath: env.FUNCTION_ZIP ?? env.FUNCTION_PATH,
    handlerFunction: env.HANDLER_FUNCTION,
    callOnChangeOnly: env.CALL_ON_CHANGE_ONLY,
    handlerTimeoutSeconds: env.HANDLER_TIMEOUT,
    zipMaxBytes: env.ZIP_MAX_BYTES,
    zipMaxEntries: env.ZIP_MAX_ENTRIES,
    outputTtlSeconds: env.OUTPUT_TTL,
    pythonBin: env.PYTHON_BIN,
    healthPort: env.HEALTH_PORT,
    handlerOutputMaxBytes: env.HANDLER_OUTPUT_MAX_BYTES,
    requirements: splitRequirements(env.REQUIREMENTS),
    requirementsFile: env.NEW_REQUERIMENTS,
    pythonPackagesDir: env.PYTHON_PACKAGES_DIR,
    requirementsTimeoutSeconds: env.REQUIREMENTS_TIMEOUT,
    handlerMemoryMb: env.HANDLER_MEMORY_MB,
    metricsKeyPrefix: env.METRICS_KEY_PREFIX,
  };
  return resolveRuntimeConfig(options);
}

/** Fills defaults and checks the values a caller may have got wrong. */
export function resolveRuntimeConfig(options: RuntimeOptions): RuntimeConfig {
  const url = new URL(options.redisUrl);
  const config: RuntimeConfig = {
    redisUrl: options.redisUrl,
    redisHost: options.redisHost ?? (url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'),
    redisPort: options.redisPort ?? (url.port ? Number(url.port) : 6379),
    inputKey: options.inputKey,
    outputKey: options.outputKey,
    intervalSeconds: options.intervalSeconds ?? DEFAULTS.intervalSeconds,
    functionPath: options.functionPath ?? DEFAULTS.functionPath,
    handlerFunction: options.handlerFunction,
    callOnChangeOnly: options.callOnChangeOnly ?? DEFAULTS.callOnChangeOnly,
    handlerTimeoutSeconds: options.handlerTimeoutSeconds ?? DEFAULTS.handlerTimeoutSeconds,
    zipMaxBytes: options.zipMaxBytes ?? DEFAULTS.zipMaxBytes,
    zipMaxEntries: options.zipMaxEntries ?? DEFAULTS.zipMaxEntries,
    outputTtlSeconds: options.outputTtlSeconds ?? DEFAULTS.outputTtlSeconds,
    pythonBin: options.pythonBin ?? DEFAULTS.pythonBin,
    healthPort: options.healthPort ?? DEFAULTS.healthPort,
    handlerOutputMaxBytes: options.handlerOutputMaxBytes ?? DEFAULTS.handlerOutputMaxBytes,
    requirements: options.requirements ?? [],
    requirementsFile: options.requirementsFile,
    pythonPackagesDir: options.pythonPackagesDir ?? DEFAULTS.pythonPackagesDir,
    requirementsTimeoutSeconds: options.requirementsTimeoutSeconds ?? DEFAULTS.requirementsTimeoutSeconds,
    handlerMemoryMb: options.handlerMemoryMb ?? DEFAULTS.handlerMemoryMb,
    metricsKeyPrefix: options.metricsKeyPrefix ?? DEFAULTS.metricsKeyPrefix,
  };
  checkConfig(config);
  return config;
}

function checkConfig(config: RuntimeConfig): void {
  if (!(config.intervalSeconds > 0)) throw new RuntimeConfigError('intervalSeconds must be > 0');
  if (!(config.handlerTimeoutSeconds > 0)) throw new RuntimeConfigError('handlerTimeoutSeconds must be > 0');
  if (config.outputKey !== undefined && config.outputKey.trim() === '') {
    throw new RuntimeConfigError('outputKey must not be empty (leave it undefined to write nothing)');
  }
  if (config.inputKey.trim() === '') throw new RuntimeConfigError('inputKey must not be empty');
  if (config.handlerFunction !== undefined && !HANDLER_FUNCTION_RE.test(config.handlerFunction)) {
    throw new RuntimeConfigError(`handlerFunction ${JSON.stringify(config.handlerFunction)} must look like module.function`);
  }
}
