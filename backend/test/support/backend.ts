/**
 * Running real backends in tests: in-process (startBackend) or as child
 * processes (for SIGKILL/SIGTERM tests and the cluster simulation), each on
 * a real PostgreSQL database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/logger.js';
import { startBackend, type Backend } from '../../src/server.js';
import { BACKEND_NODE_FLAGS } from '../../src/node-flags.js';
import { blobDirFor, createTestDatabase, type TestDatabase } from './database.js';

/** backend/dist/src/main.js, from this compiled file (backend/dist/test/support/backend.js). */
export const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');

export interface TestBackend {
  backend: Backend;
  db: TestDatabase;
  url: string;
  /** Stops the backend (graceful, short grace) and drops the database. */
  close(): Promise<void>;
}

/** glibc's allocator as the backend's image sets it (docker/Dockerfile.app): what a pod's memory is measured with. */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '4194304',
  MALLOC_MMAP_THRESHOLD_: '1048576',
};

export function baseEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // A configured BLOB_DIR must exist (a volume that failed to mount is noticed, not replaced by an empty folder).
  mkdirSync(blobDirFor(databaseUrl), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: databaseUrl,
    BLOB_DIR: blobDirFor(databaseUrl),
    ...ALLOCATOR_ENV,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    QUEUE_POLL_MS: '500',
    // Every answer of /api/v1 checked against its route's declared schema.
    VALIDATE_RESPONSES: '1',
    ...extra,
  };
}

export async function startTestBackend(extra: Record<string, string> = {}, db?: TestDatabase): Promise<TestBackend> {
  const database = db ?? (await createTestDatabase());
  const env = baseEnv(database.url, extra);
  const backend = await startBackend(env, { logger: createLogger(String(env.LOG_LEVEL), { pod: env.POD_NAME ?? 'test' }) });
  return {
    backend,
    db: database,
    url: backend.url,
    async close() {
      await backend.stop(2000);
      if (!db) await database.drop();
    },
  };
}

export interface BackendProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node backend/dist/src/main.js` and resolves once it logs that it is
 * ready. With `cgroupProcs`, the process joins that cgroup before Node starts
 * (memory-cgroup.ts), as a container's process is born in its group.
 */
export async function spawnBackend(env: NodeJS.ProcessEnv, timeoutMs = 30_000, place: { cgroupProcs?: string } = {}): Promise<BackendProcess> {
  const childEnv = { ...env, LOG_LEVEL: 'info' };
  const child = place.cgroupProcs
    ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', place.cgroupProcs, process.execPath, ...BACKEND_NODE_FLAGS, MAIN_JS], {
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [...BACKEND_NODE_FLAGS, MAIN_JS], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`backend did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)"[^\n]*imgfleet backend ready/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`backend exited (${code}) before it was ready:\n${out}`));
    });
  });
  return { child, url, output: () => out, exit };
}

export interface UploadFile {
  name: string;
  data: Buffer;
  type?: string;
}

export function formData(files: UploadFile[], field = 'images'): FormData {
  const form = new FormData();
  for (const f of files) form.append(field, new Blob([f.data], { type: f.type ?? 'image/jpeg' }), f.name);
  return form;
}

export async function upload(url: string, files: UploadFile[], options: { path?: string; token?: string; batchId?: string } = {}): Promise<Response> {
  const target = new URL(options.path ?? '/api/v1/images', url);
  if (options.batchId) target.searchParams.set('batchId', options.batchId);
  return fetch(target, {
    method: 'POST',
    body: formData(files),
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
}

export async function getJson<T = unknown>(url: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls `check` until it returns a truthy value. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 30_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Waits until the queue holds no pending or processing image: every image of a batch ended, one way or the other. */
export async function waitForQueueSettled(pool: pg.Pool, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_images WHERE status IN ('pending', 'processing')");
      return rows[0]!.n === 0;
    },
    timeoutMs,
    200,
  );
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** A Server-Sent Events reader over fetch: collects events until closed. */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ events: SseEvent[]; next(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status !== 200 || !res.body) throw new Error(`event stream answered ${res.status}`);
  const events: SseEvent[] = [];
  const waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  const deliver = (e: SseEvent) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let idx: number;
        while ((idx = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          const e: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) e.event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            else if (line.startsWith('id:')) e.id = line.slice(3).trim();
          }
          if (data.length) {
            e.data = data.join('\n');
            deliver(e);
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    next(pred, timeoutMs = 15_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching event in time')), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    close: () => controller.abort(),
  };
}
