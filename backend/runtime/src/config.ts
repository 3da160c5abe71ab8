/**
 * The function runtime's configuration. The environment variables are those
 * of the course runtime (lucasmsp/serverless:redis) plus the extras; they are
 * validated once at start-up so that a bad value stops the process with a
 * message naming the variable instead of surfacing later as a strange poll.
 */
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
  outputKey: string;
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
}

export const DEFAULTS = {
  inputKey: 'metrics',
  intervalSeconds: 5,
  functionPath: '/opt/usermodule.py',
  callOnChangeOnly: true,
  handlerTimeoutSeconds: 10,
  zipMaxBytes: 50 * 1024 * 1024,
  zipMaxEntries: 1000,
  outputTtlSeconds: 0,
  pythonBin: 'python3',
} as const;

const HANDLER_FUNCTION_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Kubernetes ConfigMaps often carry empty strings for "unset"; treat them so. */
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);
const text = z.preprocess(blank, z.string().optional());
const seconds = (min: number, max: number) => z.preprocess(blank, z.coerce.number().min(min).max(max).optional());
const positiveInt = (max: number) => z.preprocess(blank, z.coerce.number().int().min(1).max(max).optional());

/** Every variable the runtime reads. The README's runtime table mirrors it. */
export const runtimeEnvSchema = z.object({
  REDIS_URL: z.preprocess(blank, z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional()),
  REDIS_HOST: text,
  REDIS_PORT: positiveInt(65535),
  REDIS_INPUT_KEY: text,
  REDIS_OUTPUT_KEY: text,
  INTERVAL: seconds(0.01, 86400),
  MONITORING_PERIOD: seconds(0.01, 86400),
  FUNCTION_PATH: text,
  FUNCTION_ZIP: text,
  HANDLER_FUNCTION: z.preprocess(
    blank,
    z.string().regex(HANDLER_FUNCTION_RE, 'must look like module.function, e.g. usermodule.handler').optional(),
  ),
  CALL_ON_CHANGE_ONLY: z.preprocess(blank, z.stringbool().optional()),
  HANDLER_TIMEOUT: seconds(0.01, 86400),
  ZIP_MAX_BYTES: positiveInt(4 * 1024 * 1024 * 1024),
  ZIP_MAX_ENTRIES: positiveInt(1_000_000),
  OUTPUT_TTL: seconds(0, 365 * 86400),
  PYTHON_BIN: text,
});

/** Reads the configuration from `source` (default: process.env); throws RuntimeConfigError naming each bad variable. */
export function loadRuntimeConfig(source: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const result = runtimeEnvSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `  ${name}=${JSON.stringify(source[name] ?? '')}: ${issue.message}`;
    });
    throw new RuntimeConfigError(`invalid runtime configuration:\n${lines.join('\n')}`);
  }
  const env = result.data;
  const problems: string[] = [];

  if (!env.REDIS_OUTPUT_KEY) {
    // The course runtime has no sensible default either: every student wrote to their own key.
    problems.push('  REDIS_OUTPUT_KEY: is required (the key the handler\'s result is written to)');
  }
  if (
    env.INTERVAL !== undefined &&
    env.MONITORING_PERIOD !== undefined &&
    env.INTERVAL !== env.MONITORING_PERIOD
  ) {
    problems.push(
      `  INTERVAL=${env.INTERVAL} and MONITORING_PERIOD=${env.MONITORING_PERIOD}: are aliases; set one, or both to the same value`,
    );
  }
  if (problems.length > 0) {
    throw new RuntimeConfigError(`invalid runtime configuration:\n${problems.join('\n')}`);
  }

  let redisUrl: string;
  let redisHost: string;
  let redisPort: number;
  if (env.REDIS_URL) {
    redisUrl = env.REDIS_URL;
    const parsed = new URL(env.REDIS_URL);
    redisHost = parsed.hostname || 'localhost';
    redisPort = parsed.port ? Number(parsed.port) : 6379;
  } else {
    redisHost = env.REDIS_HOST ?? 'localhost';
    redisPort = env.REDIS_PORT ?? 6379;
    redisUrl = `redis://${redisHost.includes(':') ? `[${redisHost}]` : redisHost}:${redisPort}`;
  }

  return resolveRuntimeConfig({
    redisUrl,
    redisHost,
    redisPort,
    inputKey: env.REDIS_INPUT_KEY ?? DEFAULTS.inputKey,
    outputKey: env.REDIS_OUTPUT_KEY!,
    intervalSeconds: env.MONITORING_PERIOD ?? env.INTERVAL ?? DEFAULTS.intervalSeconds,
    // FUNCTION_ZIP wins over FUNCTION_PATH: it is the more specific of the two.
    functionPath: env.FUNCTION_ZIP ?? env.FUNCTION_PATH ?? DEFAULTS.functionPath,
    handlerFunction: env.HANDLER_FUNCTION,
    callOnChangeOnly: env.CALL_ON_CHANGE_ONLY ?? DEFAULTS.callOnChangeOnly,
    handlerTimeoutSeconds: env.HANDLER_TIMEOUT ?? DEFAULTS.handlerTimeoutSeconds,
    zipMaxBytes: env.ZIP_MAX_BYTES ?? DEFAULTS.zipMaxBytes,
    zipMaxEntries: env.ZIP_MAX_ENTRIES ?? DEFAULTS.zipMaxEntries,
    outputTtlSeconds: env.OUTPUT_TTL ?? DEFAULTS.outputTtlSeconds,
    pythonBin: env.PYTHON_BIN ?? DEFAULTS.pythonBin,
  });
}

/** Options for programmatic use: only the Redis URL and the keys are required. */
export type RuntimeOptions = Pick<RuntimeConfig, 'redisUrl' | 'outputKey'> & Partial<RuntimeConfig>;

/** Fills defaults and checks the values a caller may have got wrong. */
export function resolveRuntimeConfig(options: RuntimeOptions): RuntimeConfig {
  let host = options.redisHost;
  let port = options.redisPort;
  if (host === undefined || port === undefined) {
    const parsed = new URL(options.redisUrl);
    host ??= parsed.hostname || 'localhost';
    port ??= parsed.port ? Number(parsed.port) : 6379;
  }
  const config: RuntimeConfig = {
    redisUrl: options.redisUrl,
    redisHost: host,
    redisPort: port,
    inputKey: options.inputKey ?? DEFAULTS.inputKey,
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
  };
  if (!(config.intervalSeconds > 0)) throw new RuntimeConfigError('intervalSeconds must be > 0');
  if (!(config.handlerTimeoutSeconds > 0)) throw new RuntimeConfigError('handlerTimeoutSeconds must be > 0');
  if (config.outputKey.trim() === '') throw new RuntimeConfigError('outputKey must not be empty');
  if (config.inputKey.trim() === '') throw new RuntimeConfigError('inputKey must not be empty');
  if (config.handlerFunction !== undefined && !HANDLER_FUNCTION_RE.test(config.handlerFunction)) {
    throw new RuntimeConfigError(`handlerFunction ${JSON.stringify(config.handlerFunction)} must look like module.function`);
  }
  return config;
}
