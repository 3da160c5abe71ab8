/** Shared pieces of the metrics tests: polling, free ports, a private redis-server, an HTTP app, SSE. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type Router } from 'express';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { AppStats } from '../../src/metrics/index.js';
import { errorHandler } from '../../src/http/errors.js';

export const silentLogger = pino({ level: 'silent' });

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** App stats that look like a working pipeline: each call has processed 3 more images. */
export function countingAppStats(): () => AppStats {
  let processed = 0;
  return () => {
    processed += 3;
    return {
      activeThreads: 2,
      totalThreads: 4,
      queueSize: 5,
      processedCount: processed,
      failedCount: 1,
      avgProcessTimeSeconds: 0.25,
    };
  };
}

/** A TCP port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A throw-away redis-server of our own on `port`, so a test may kill and restart it. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private dir: string | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.dir ??= await mkdtemp(path.join(os.tmpdir(), 'imgfleet-redis-'));
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: 'ignore',
    });
    this.child = child;
    child.on('error', () => undefined);
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await waitFor('redis-server to answer', async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
        try {
          if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        }
      });
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Serves `router` under /api/v1 (as the server mounts it) plus extra root routes, on a free port. */
export async function serve(mount: (app: express.Express) => void): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const app = express();
  mount(app);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The router under /api/v1 with the app's own error answers (a refused query is a JSON 400, as in the app). */
export function mountApi(router: Router): (app: express.Express) => void {
  return (app) => app.use('/api/v1', router).use(errorHandler(pino({ level: 'silent' })));
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A minimal EventSource over fetch: collects events and comment lines as they arrive. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private readonly abort = new AbortController();
  private buffer = '';
  status = 0;
  contentType = '';

  static async connect(url: string): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(url, { signal: client.abort.signal, headers: { accept: 'text/event-stream' } });
    client.status = res.status;
    client.contentType = res.headers.get('content-type') ?? '';
    void client.pump(res);
    return client;
  }

  private async pump(res: Response): Promise<void> {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        this.buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          this.parse(block);
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  private parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    let sawField = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event:')) {
        event = line.slice(6).trim();
        sawField = true;
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
        sawField = true;
      }
    }
    if (sawField && data.length > 0) this.events.push({ event, data: data.join('\n') });
  }

  close(): void {
    this.abort.abort();
  }
}

/**
 * The raw JSON token of each top-level field of a flat JSON object, exactly as
 * written (so `12.0` and `12` stay distinguishable, which JSON.parse hides).
 */
export function rawTokens(text: string): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)":("(?:[^"\\]|\\.)*"|[^,{}[\]]+)/g)) {
    tokens.set(JSON.parse(`"${m[1]!}"`) as string, m[2]!);
  }
  return tokens;
}

/** Python's own view of a JSON text: the type name json.loads gives each top-level value. */
export function pythonTypes(text: string): Record<string, string> {
  const script = 'import json,sys\nd=json.loads(sys.stdin.read())\nprint(json.dumps({k: type(v).__name__ for k, v in d.items()}))';
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout) as Record<string, string>;
}
