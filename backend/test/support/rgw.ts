/**
 * The machine's test Ceph RADOS Gateway (scripts/rgw/rgw.sh), for the S3
 * store's tests and any test that runs a backend on S3:
 *
 * - `testRgw()`: where the shared gateway is and its test user's keys
 *   (from the TEST_S3_* exports `npm test` sets; running a test file by
 *   hand brings the cluster up itself);
 * - `createTestBucket()`: a bucket of the test's own, emptied and removed
 *   at the end;
 * - `rgwBackendEnv()`: the environment of a backend process on that bucket
 *   (BLOB_STORE=s3 and the SDK's standard AWS_* settings);
 * - `startPrivateGateway()`: a radosgw of the test's own on the same
 *   cluster (same users, same buckets) on a free port, to stop, kill,
 *   freeze and restart without disturbing the tests that share the
 *   machine's gateway.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3StoreSettings } from '../../src/blobs/s3-settings.js';
import { freePort } from './private-postgres.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const RGW_SCRIPT = path.join(repoRoot, 'scripts', 'rgw', 'rgw.sh');

export interface TestRgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The cluster's ceph.conf, for gateways of a test's own and radosgw-admin. */
  conf: string;
}

let cached: TestRgw | undefined;

/** The shared test gateway: from `npm test`'s exports, else brought up now by the script (idempotent). */
export function testRgw(): TestRgw {
  if (cached) return cached;
  if (!process.env.TEST_S3_ENDPOINT) {
    const exports = execFileSync('bash', [RGW_SCRIPT, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    for (const line of exports.split('\n')) {
      const m = /^export (TEST_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) process.env[m[1]] = m[2];
    }
  }
  const need = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (scripts/rgw/rgw.sh up prints it)`);
    return value;
  };
  cached = {
    endpoint: need('TEST_S3_ENDPOINT'),
    accessKeyId: need('TEST_S3_ACCESS_KEY_ID'),
    secretAccessKey: need('TEST_S3_SECRET_ACCESS_KEY'),
    region: need('TEST_S3_REGION'),
    conf: need('TEST_RGW_CONF'),
  };
  return cached;
}

/** The SDK client settings for the test user at `endpoint` (default: the shared gateway). */
export function rgwClientConfig(
  endpoint = testRgw().endpoint,
  keys: { accessKeyId: string; secretAccessKey: string } = testRgw(),
): NonNullable<S3StoreSettings['client']> {
  return { endpoint, region: testRgw().region, credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey } };
}

/** A plain SDK client as the test user, for what the tests look at behind the store's back. */
export function rgwAdminClient(endpoint?: string): S3Client {
  return new S3Client({
    ...rgwClientConfig(endpoint),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A bucket name no other test uses (S3 names: lower case, digits, dashes). */
export function uniqueBucketName(label = 't'): string {
  return `imgfleet-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface TestBucket {
  name: string;
  /** Removes every object and unfinished upload in it, then the bucket; a bucket already gone is fine. */
  destroy(): Promise<void>;
}

export async function emptyAndDeleteBucket(client: S3Client, Bucket: string): Promise<void> {
  try {
    for await (const page of paginateListObjectsV2({ client }, { Bucket })) {
      const Objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (Objects.length > 0) await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } }));
    }
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket }));
    for (const u of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId }));
    await client.send(new DeleteBucketCommand({ Bucket }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchBucket') throw err;
  }
}

export async function createTestBucket(label = 't'): Promise<TestBucket> {
  const client = rgwAdminClient();
  const name = uniqueBucketName(label);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return {
    name,
    async destroy() {
      try {
        await emptyAndDeleteBucket(client, name);
      } finally {
        client.destroy();
      }
    },
  };
}

/** Store settings for tests: the test user at `endpoint`, a spool folder of the test's own. */
export function rgwStoreSettings(bucket: string, spoolDir: string, overrides: Partial<S3StoreSettings> = {}): S3StoreSettings {
  return {
    bucket,
    prefix: '',
    forcePathStyle: true,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 30_000,
    spoolDir,
    multipartThreshold: 16 * 1024 * 1024,
    partSize: 8 * 1024 * 1024,
    partConcurrency: 4,
    deleteBatch: 1000,
    listPageSize: 1000,
    client: rgwClientConfig(),
    ...overrides,
  };
}

/**
 * The environment of a backend process keeping its blobs in `bucket` on the
 * test gateway (or on `endpoint`, a private gateway): our S3_* settings and
 * the SDK's own standard AWS_* ones, as in production.
 */
export function rgwBackendEnv(bucket: string, options: { endpoint?: string; prefix?: string } = {}): Record<string, string> {
  const rgw = testRgw();
  return {
    BLOB_STORE: 's3',
    S3_BUCKET: bucket,
    S3_PREFIX: options.prefix ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ENDPOINT_URL_S3: options.endpoint ?? rgw.endpoint,
    AWS_REGION: rgw.region,
    AWS_ACCESS_KEY_ID: rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    // No shared config or credentials file of the developer's may mix in.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** Runs radosgw-admin on the test cluster and parses its JSON answer. */
export async function radosgwAdmin(args: string[]): Promise<unknown> {
  const { stdout } = await run('radosgw-admin', ['-c', testRgw().conf, ...args], { timeout: 60_000 });
  return stdout.trim() === '' ? null : (JSON.parse(stdout) as unknown);
}

/**
 * A user of the test cluster who may not create buckets (RGW: max-buckets
 * -1), made once per cluster, for "the bucket is missing and these
 * credentials cannot make it".
 */
export async function userWhoCannotCreateBuckets(): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const uid = 'imgfleet-test-no-buckets';
  interface UserInfo {
    keys?: { access_key: string; secret_key: string }[];
  }
  const info = async (): Promise<UserInfo> => (await radosgwAdmin(['user', 'info', `--uid=${uid}`])) as UserInfo;
  let user: UserInfo;
  try {
    user = await info();
  } catch {
    // Not there yet; a concurrent test file may be making it at the same moment.
    user = (await radosgwAdmin(['user', 'create', `--uid=${uid}`, '--display-name=imgfleet tests: no buckets', '--max-buckets=-1']).catch(info)) as UserInfo;
  }
  const key = user.keys?.[0];
  if (!key) throw new Error(`radosgw-admin gave no key for ${uid}`);
  return { accessKeyId: key.access_key, secretAccessKey: key.secret_key };
}

export interface PrivateGateway {
  port: number;
  endpoint: string;
  /** The radosgw process's id while it runs (for benches reading its CPU from /proc). */
  readonly pid: number | undefined;
  /** SIGTERM, and wait for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), and wait for it to be gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  start(): Promise<void>;
  /** SIGSTOP: the port still accepts connections (the kernel does), nothing answers. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  destroy(): Promise<void>;
}

const gateways = new Set<ChildProcess>();
// A test that fails before its cleanup must not leave a gateway running.
process.once('exit', () => {
  for (const child of gateways) child.kill('SIGKILL');
});

async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A radosgw of the caller's own on the test cluster, on a free port of
 * `bind` (default 127.0.0.1; 0.0.0.0 for containers to reach it). Its
 * endpoint is the host's view, 127.0.0.1.
 */
export async function startPrivateGateway(options: { bind?: string } = {}): Promise<PrivateGateway> {
  const rgw = testRgw();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-rgw-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let frozen = false;

  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(
      'radosgw',
      [
        '-f',
        '-c',
        rgw.conf,
        '-n',
        'client.rgw.gateway',
        '--rgw-frontends',
        `beast endpoint=${options.bind ?? '127.0.0.1'}:${port}`,
        '--pid-file',
        path.join(dir, 'pid'),
        '--admin-socket',
        path.join(dir, 'asok'),
        '--log-file',
        path.join(dir, 'log'),
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    gateways.add(proc);
    const exited = once(proc, 'exit').then(([code]) => {
      throw new Error(`the private radosgw exited (${String(code)}) before it answered; see ${dir}/log`);
    });
    exited.catch(() => undefined);
    proc.once('exit', () => {
      gateways.delete(proc);
      if (child === proc) child = undefined;
    });
    // It answers once its frontend listens (a second or so; the pools exist).
    const ready = (async () => {
      for (let i = 0; i < 600; i++) {
        if (await portAnswers(port)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the private radosgw did not listen on ${port} within 30 s; see ${dir}/log`);
    })();
    await Promise.race([ready, exited]);
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    if (frozen) proc.kill('SIGCONT');
    frozen = false;
    const gone = once(proc, 'exit');
    proc.kill(sig);
    await gone;
  };

  await start();
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start,
    freeze() {
      frozen = child?.kill('SIGSTOP') ?? false;
    },
    thaw() {
      if (frozen) child?.kill('SIGCONT');
      frozen = false;
    },
    async destroy() {
      await signal('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
