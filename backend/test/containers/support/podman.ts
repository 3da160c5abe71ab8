/**
 * A thin wrapper over the podman CLI for the container tests (npm run
 * test:containers): real containers of the images scripts/containers/test.sh
 * built. Every container and network a test makes is removed by `cleanup()`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * The images scripts/containers/test.sh built, under the tags k8s/scripts/images.sh
 * gives them (<version>-<commit>), as it hands them over in IMGFLEET_IMAGES.
 */
function builtImage(name: string): string {
  const refs = (process.env.IMGFLEET_IMAGES ?? '').split(/\s+/).filter(Boolean);
  const ref = refs.find((r) => r.startsWith(`${name}:`));
  if (!ref) throw new Error(`IMGFLEET_IMAGES names no ${name} image: run the container tests with npm run test:containers, which builds them`);
  return `localhost/${ref}`;
}
export const APP_IMAGE = builtImage('image-processor');
export const DB_IMAGE = builtImage('postgres-db');
export const RUNTIME_IMAGE = builtImage('imgfleet-runtime');
/** A test-only Redis (Debian's redis-server), made by scripts/containers/bases.sh. */
export const REDIS_IMAGE = 'localhost/imgfleet-test-redis:latest';

/** Runs podman; rejects with its stderr, so a failure says what the engine said. */
export async function podman(...args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('podman', args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** `podman exec CONTAINER COMMAND…`'s exit status (the command's own, or podman's 125-127, 137 when killed). */
export async function execStatus(name: string, ...command: string[]): Promise<number> {
  try {
    await exec('podman', ['exec', name, ...command]);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

export interface RunOptions {
  name: string;
  image: string;
  network?: string;
  env?: Record<string, string>;
  /** Container ports to publish on 127.0.0.1 (random host ports). */
  publish?: number[];
  /** Extra `podman run` options (security, mounts, user). */
  options?: string[];
  command?: string[];
}

export interface Container {
  name: string;
  /** The host port a published container port is reachable on, at 127.0.0.1. */
  port(containerPort: number): Promise<number>;
  logs(): Promise<string>;
  /** `podman inspect` of one field, e.g. `{{.State.ExitCode}}`. */
  inspect(format: string): Promise<string>;
  exec(...command: string[]): Promise<string>;
}

/** The options the manifests give the backend and the runtime: non-root, read-only root, no capabilities. */
export const HARDENED = ['--read-only', '--cap-drop=ALL', '--security-opt=no-new-privileges', '--tmpfs=/tmp:rw,size=64m'];

export class Podman {
  private readonly containers: string[] = [];
  private readonly networks: string[] = [];
  private readonly volumes: string[] = [];
  /** A prefix unique to this run, so concurrent or leftover runs never collide. */
  readonly prefix = `imgfleet-t${process.pid}-${Date.now().toString(36)}`;

  async network(name: string): Promise<string> {
    const full = `${this.prefix}-${name}`;
    await podman('network', 'create', full);
    this.networks.push(full);
    return full;
  }

  async volume(name: string): Promise<string> {
    const full = `${this.prefix}-${name}`;
    await podman('volume', 'create', full);
    this.volumes.push(full);
    return full;
  }

  async run(o: RunOptions): Promise<Container> {
    const name = `${this.prefix}-${o.name}`;
    const args = ['run', '--detach', '--name', name, '--hostname', o.name];
    if (o.network) args.push('--network', o.network, '--network-alias', o.name);
    for (const [k, v] of Object.entries(o.env ?? {})) args.push('--env', `${k}=${v}`);
    for (const p of o.publish ?? []) args.push('--publish', `127.0.0.1::${p}`);
    args.push(...(o.options ?? []), o.image, ...(o.command ?? []));
    this.containers.push(name);
    await podman(...args);
    return container(name);
  }

  /** Removes everything this instance made; failures are reported, not thrown. */
  async cleanup(): Promise<void> {
    for (const c of this.containers.reverse()) await podman('rm', '--force', '--time', '0', c).catch(report);
    for (const v of this.volumes) await podman('volume', 'rm', '--force', v).catch(report);
    for (const n of this.networks) await podman('network', 'rm', '--force', n).catch(report);
  }
}

function report(err: unknown): void {
  console.error('cleanup:', err instanceof Error ? err.message : err);
}

export function container(name: string): Container {
  return {
    name,
    port: async (containerPort) => {
      const out = await podman('port', name, `${containerPort}/tcp`);
      const port = Number(/:(\d+)\s*$/m.exec(out)?.[1]);
      if (!Number.isInteger(port)) throw new Error(`${name}: ${containerPort}/tcp is not published (${out})`);
      return port;
    },
    logs: () => exec('podman', ['logs', name], { maxBuffer: 64 * 1024 * 1024 }).then((r) => r.stdout + r.stderr),
    inspect: (format) => podman('inspect', '--format', format, name),
    exec: (...command) => podman('exec', name, ...command),
  };
}

/** Polls `check` until truthy; on timeout, the error says what was awaited and the last failure. */
export async function until<T>(what: string, check: () => Promise<T> | T, timeoutMs: number, intervalMs = 250): Promise<NonNullable<T>> {
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
  throw new Error(`${what}: not within ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
}

/** Resolves once GET url answers 200. */
export function untilHttpOk(url: string, timeoutMs: number): Promise<true> {
  return until(`GET ${url} answers 200`, async () => (await fetch(url)).status === 200 || undefined, timeoutMs);
}

/** Starts the db image the way the StatefulSet runs it, on `network`; returns it and its URL from the host. */
export async function startDatabase(p: Podman, network: string, name = 'postgres'): Promise<{ db: Container; hostUrl: string; clusterUrl: string }> {
  const db = await p.run({
    name,
    image: DB_IMAGE,
    network,
    env: { POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'imagedb', PGDATA: '/var/lib/postgresql/data/pgdata' },
    publish: [5432],
    // As k8s/postgres.yaml: its own user, read-only root, writable socket folder,
    // /tmp and a /dev/shm larger than the engine's 64 MB default, a data volume.
    options: [
      '--read-only',
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      // U: owned by the container's user, as fsGroup makes the emptyDir in Kubernetes.
      '--tmpfs=/var/run/postgresql:rw,U',
      '--tmpfs=/tmp:rw',
      '--shm-size=256m',
      '--volume',
      `${await p.volume(`${name}-data`)}:/var/lib/postgresql/data`,
    ],
  });
  const port = await db.port(5432);
  // The entrypoint runs the init scripts on a temporary server (no TCP) first: wait for the real one.
  const state = await until(
    'postgres accepts TCP connections after its initialisation',
    async () => {
      if ((await db.inspect('{{.State.Status}}')) === 'exited') return 'exited';
      const logs = await db.logs();
      if (!logs.includes('PostgreSQL init process complete')) return undefined;
      return (await db.exec('pg_isready', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'imagedb')).includes('accepting') ? 'ready' : undefined;
    },
    120_000,
    500,
  );
  if (state === 'exited') throw new Error(`the database container exited:\n${await db.logs()}`);
  return {
    db,
    hostUrl: `postgres://postgres:postgres@127.0.0.1:${port}/imagedb`,
    clusterUrl: `postgres://postgres:postgres@${name}:5432/imagedb`,
  };
}
