/**
 * Pieces the metrics window tests share: a redis-server of the test's own on a
 * free port (so a test may stop and restart it without touching anyone
 * else's), and the canvas probe that finds a line by its colour.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import type { Page } from 'playwright-core';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(dir: string): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), dir);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (again, on the same port) and resolves once it accepts connections. */
  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/Ready to accept connections/i.test(out)) resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/** How many pixels of a chart's canvas have the colour `hex` (#rrggbb), and their mean row (smaller: higher). */
export function lineOf(page: Page, figure: string, hex: string): Promise<{ n: number; meanRow: number }> {
  return page.$eval(
    `${figure} canvas`,
    (canvas, colour) => {
      const rgb = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      let rows = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 200 && rgb.every((v, k) => Math.abs(data[i + k]! - v) < 24)) {
          n++;
          rows += Math.floor(i / 4 / c.width);
        }
      }
      return { n, meanRow: n === 0 ? 0 : rows / n };
    },
    hex,
  );
}
