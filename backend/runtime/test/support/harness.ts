/**
 * Shared pieces of the runtime tests: a Redis client and key clean-up, a
 * runtime started in-process with its logs captured, temp folders for
 * handler files, and waiting for a condition (never a timed assertion:
 * `waitFor` only bounds how long a broken build takes to fail).
 */
import { mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { startRuntime } from '../../src/runtime.js';
import type { RuntimeHandle } from '../../src/runtime.js';
import type { RuntimeOptions } from '../../src/config.js';
import type { ErrorRecord } from '../../src/errors.js';
import type { StatsRecord } from '../../src/stats.js';
import { TEST_REDIS_URL, uniquePrefix } from './redis.js';

export { TEST_REDIS_URL, uniquePrefix };

/** Compiled tests live in backend/runtime/dist/test/support/; the handler sources stay in backend/runtime/functions/. */
export const FUNCTIONS_DIR = new URL('../../../functions/', import.meta.url).pathname;
export const JS_DEFAULT_HANDLER = new URL('../../src/default-handler.js', import.meta.url).pathname;

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose lines the test can read; set RUNTIME_TEST_LOGS=1 to see them too. */
export function captureLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const echo = process.env.RUNTIME_TEST_LOGS === '1';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim() === '') continue;
        lines.push(JSON.parse(text) as LogLine);
        if (echo) process.stderr.write(`${text}\n`);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A test's own world: a key prefix, a temp folder, a Redis client, and runtimes stopped at the end. */
export class RuntimeTestBed {
  readonly prefix = uniquePrefix('runtime');
  readonly redis = new Redis(TEST_REDIS_URL);
  private readonly runtimes: RuntimeHandle[] = [];
  private dirs: string[] = [];

  key(name: string): string {
    return `${this.prefix}:${name}`;
  }

  /** Every key of the test Redis matching `pattern` (SCAN, so a busy Redis is never blocked), sorted. */
  async keysUnder(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys.sort();
  }

  async dir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-rt-test-'));
    this.dirs.push(dir);
    return dir;
  }

  /**
   * Writes a handler file; the mtime is pushed forward so a rewrite is always seen as a change.
   * The file is replaced in one step (written aside, then renamed), as a ConfigMap update swaps
   * it: a poll between the write and the mtime change would otherwise see two versions.
   */
  async writeFile(dir: string, name: string, content: string | Buffer, bumpSeconds = 0): Promise<string> {
    const file = path.join(dir, name);
    const aside = path.join(dir, `.${name}.${process.pid}.tmp`);
    await writeFile(aside, content);
    if (bumpSeconds) {
      const t = Date.now() / 1000 + bumpSeconds;
      await utimes(aside, t, t);
    }
    await rename(aside, file);
    return file;
  }

  async start(options: Omit<RuntimeOptions, 'redisUrl'> & { redisUrl?: string }): Promise<{ runtime: RuntimeHandle; logs: LogLine[] }> {
    const { logger, lines } = captureLogger();
    const runtime = await startRuntime({ redisUrl: TEST_REDIS_URL, intervalSeconds: 0.1, handlerTimeoutSeconds: 10, healthPort: 0, ...options }, logger);
    this.runtimes.push(runtime);
    return { runtime, logs: lines };
  }

  async getJson<T = Record<string, unknown>>(key: string): Promise<T | null> {
    const raw = await this.redis.get(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  }

  stats(outputKey: string): Promise<StatsRecord | null> {
    return this.getJson<StatsRecord>(`${outputKey}:stats`);
  }

  lastError(outputKey: string): Promise<ErrorRecord | null> {
    return this.getJson<ErrorRecord>(`${outputKey}:error`);
  }

  /** Waits until the context behind `outputKey` has been invoked at least `n` times. */
  waitInvocations(outputKey: string, n: number): Promise<StatsRecord> {
    return waitFor(`${n} invocation(s) for ${outputKey}`, async () => {
      const stats = await this.stats(outputKey);
      return stats && stats.invocations >= n ? stats : undefined;
    });
  }

  /** Waits until the runtime has completed `n` more polls, to show something did NOT happen in that time. */
  async waitPolls(runtime: RuntimeHandle, n: number): Promise<void> {
    const target = runtime.status().polls + n;
    await waitFor(`${n} polls`, () => runtime.status().polls >= target);
  }

  async close(): Promise<void> {
    await Promise.all(this.runtimes.map((r) => r.stop()));
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) await this.redis.del(...keys);
    this.redis.disconnect();
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** JSON text with the given floats written as floats (`12.0`), as the course's agent writes them. */
export function jsonWithFloats(fields: Record<string, string | number | { float: number }>): string {
  const parts = Object.entries(fields).map(([key, value]) => {
    let text: string;
    if (typeof value === 'object') {
      text = Number.isInteger(value.float) ? value.float.toFixed(1) : String(value.float);
    } else {
      text = JSON.stringify(value);
    }
    return `${JSON.stringify(key)}: ${text}`;
  });
  return `{${parts.join(', ')}}`;
}
