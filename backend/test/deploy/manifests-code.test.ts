/**
 * The manifests against the code they deploy: every variable set is one the code
 * reads, the configuration they produce is accepted by the code's own parsers, the
 * probe paths are real routes, the handler mounted is the repository's.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { databaseTarget, envSchema, loadEnv, podName, redisUrl } from '../../src/config/env.js';
import { HEALTH_PATHS, loadRuntimeConfig, runtimeEnvSchema } from '@imgfleet/runtime';
import {
  CLUSTER_SECRETS,
  OVERLAYS,
  filesBelow,
  getObject,
  mainContainer,
  minikube,
  preStopSeconds,
  production,
  quantity,
  readRepoFile,
  repoPath,
} from './support/repo.js';
import type { ConfigMapLike, Container, Probe } from './support/repo.js';

const backend = mainContainer('Deployment', 'image-processor');
const runtime = mainContainer('Deployment', 'imgfleet-runtime');
const POD = 'image-processor-7d9c6b5f4-x2x9q';
const backendEnv = minikube.resolvedEnvironment(backend.container, POD, CLUSTER_SECRETS);
const runtimeEnv = minikube.resolvedEnvironment(runtime.container, 'imgfleet-runtime-5c8d7b9f6-q4r7t', CLUSTER_SECRETS);

/**
 * Variables the backend hands to nobody: the AWS SDK for JavaScript v3, which its S3
 * store uses, reads them itself (the region, static credentials, and the endpoint of a
 * non-AWS store as `AWS_ENDPOINT_URL_<service id>`, S3's id being `S3`). Each one is
 * checked against the SDK's own code below, by what that code names; nothing else
 * outside envSchema may be set.
 */
const AWS_SDK_VARIABLES: Record<string, RegExp[]> = {
  AWS_REGION: [/"AWS_REGION"/],
  AWS_ACCESS_KEY_ID: [/"AWS_ACCESS_KEY_ID"/],
  AWS_SECRET_ACCESS_KEY: [/"AWS_SECRET_ACCESS_KEY"/],
  // "AWS_ENDPOINT_URL" joined with the client's service id, which is "S3".
  AWS_ENDPOINT_URL_S3: [/"AWS_ENDPOINT_URL"/, /serviceId\b[^\n]*"S3"/],
};

let sdkCode: string | undefined;
/** The CommonJS code of the AWS SDK packages the backend's @aws-sdk/client-s3 runs on. */
function sdkSources(): string {
  if (sdkCode !== undefined) return sdkCode;
  let client: string;
  try {
    client = createRequire(repoPath('backend', 'package.json')).resolve('@aws-sdk/client-s3/package.json');
  } catch {
    throw new Error('BLOB_STORE=s3 (the production overlay) needs the S3 store: @aws-sdk/client-s3 is not a dependency of the backend');
  }
  const modules = path.resolve(path.dirname(client), '..', '..');
  const texts: string[] = [];
  for (const scope of ['@aws-sdk', '@smithy']) {
    for (const pkg of existsSync(path.join(modules, scope)) ? readdirSync(path.join(modules, scope)) : []) {
      const dir = path.join(modules, scope, pkg, 'dist-cjs');
      for (const f of filesBelow(dir).filter((x) => x.endsWith('.js'))) texts.push(readFileSync(path.join(dir, f), 'utf8'));
    }
  }
  sdkCode = texts.join('\n');
  return sdkCode;
}

for (const overlay of OVERLAYS) {
  describe(`${overlay.dir}: backend container environment`, () => {
    const { container } = overlay.mainContainer('Deployment', 'image-processor');
    const env = overlay.resolvedEnvironment(container, POD, CLUSTER_SECRETS);

    test('sets only variables the backend reads (the keys of envSchema) or the AWS SDK reads itself', () => {
      const known = new Set([...Object.keys(envSchema.shape), ...Object.keys(AWS_SDK_VARIABLES)]);
      const unknown = Object.keys(env).filter((name) => !known.has(name));
      assert.deepEqual(unknown, [], `not read by backend/src/config/env.ts: ${unknown.join(', ')}`);
    });

    test('is accepted by the backend configuration parser', () => {
      assert.doesNotThrow(() => loadEnv(env));
    });
  });

  describe(`${overlay.dir}: function runtime container environment`, () => {
    const { container } = overlay.mainContainer('Deployment', 'imgfleet-runtime');
    const env = overlay.resolvedEnvironment(container, 'imgfleet-runtime-5c8d7b9f6-q4r7t', CLUSTER_SECRETS);
    test('sets only variables the runtime reads, and the runtime accepts them', () => {
      const known = new Set(Object.keys(runtimeEnvSchema.shape));
      assert.deepEqual(
        Object.keys(env).filter((name) => !known.has(name)),
        [],
      );
      assert.doesNotThrow(() => loadRuntimeConfig(env));
    });
  });
}

describe('the AWS SDK variables production sets', () => {
  const { container } = production.mainContainer('Deployment', 'image-processor');
  const set = Object.keys(production.resolvedEnvironment(container, POD, CLUSTER_SECRETS)).filter((n) => n.startsWith('AWS_'));

  test('are the region, the credentials and (for non-AWS stores, documented) the endpoint', () => {
    assert.deepEqual(set.sort(), ['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY']);
  });

  for (const [name, patterns] of Object.entries(AWS_SDK_VARIABLES)) {
    test(`${name} is read by the AWS SDK itself`, () => {
      const code = sdkSources();
      for (const p of patterns) assert.match(code, p, `the SDK's code has no ${String(p)}`);
    });
  }
});

describe('backend container environment', () => {
  test('listens on all interfaces, on the port the container declares', () => {
    const env = loadEnv(backendEnv);
    assert.equal(env.HOST, '0.0.0.0');
    const http = backend.container.ports?.find((p) => p.name === 'http');
    assert.equal(http?.containerPort, env.PORT);
  });

  test('reaches Postgres through the Service `postgres` with the earlier Secret', () => {
    const env = loadEnv(backendEnv);
    assert.deepEqual(databaseTarget(env), { kind: 'url', url: 'postgres://postgres:a-random-password-k8s-up-made@postgres:5432/imagedb' });
    const refs = Object.fromEntries((backend.container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef]));
    assert.deepEqual(refs, {
      DB_USER: { name: 'postgres-secret', key: 'username' },
      DB_PASSWORD: { name: 'postgres-secret', key: 'password' },
    });
    getObject('Service', env.DB_HOST!);
  });

  test('publishes metrics to the Service `redis`, under the pod name from the downward API', () => {
    const env = loadEnv(backendEnv);
    assert.equal(redisUrl(env), 'redis://redis:6379');
    getObject('Service', env.REDIS_HOST!);
    assert.deepEqual(backend.container.env?.find((e) => e.name === 'POD_NAME')?.valueFrom, {
      fieldRef: { fieldPath: 'metadata.name' },
    });
    assert.equal(podName(env), POD);
  });

  test('keeps four worker threads per pod, as the earlier system did', () => {
    assert.equal(loadEnv(backendEnv).WORKER_THREADS, 4);
  });
});

describe('function runtime container environment', () => {
  test('sets only variables the runtime reads (the keys of runtimeEnvSchema)', () => {
    const known = new Set(Object.keys(runtimeEnvSchema.shape));
    const unknown = Object.keys(runtimeEnv).filter((name) => !known.has(name));
    assert.deepEqual(unknown, [], `not read by backend/runtime/src/config.ts: ${unknown.join(', ')}`);
  });

  test('is accepted by the runtime configuration parser, with the design values', () => {
    const config = loadRuntimeConfig(runtimeEnv);
    assert.equal(config.redisUrl, 'redis://redis:6379');
    assert.equal(config.inputKey, 'metrics:*');
    assert.equal(config.outputKey, 'metrics-derived');
    assert.equal(config.functionPath, '/opt/usermodule.py');
    assert.equal(config.handlerFunction, 'usermodule.handler');
    getObject('Service', config.redisHost);
  });

  test('polls as often as the backend publishes', () => {
    assert.equal(loadRuntimeConfig(runtimeEnv).intervalSeconds, loadEnv(backendEnv).METRICS_PERIOD);
  });

  test('writes where the backend reads the derived figures (one ConfigMap key for both)', () => {
    const fromBackend = backend.container.env?.find((e) => e.name === 'FUNCTION_OUTPUT_KEY')?.valueFrom?.configMapKeyRef;
    const fromRuntime = runtime.container.env?.find((e) => e.name === 'REDIS_OUTPUT_KEY')?.valueFrom?.configMapKeyRef;
    assert.deepEqual(fromBackend, { name: 'outputkey', key: 'REDIS_OUTPUT_KEY' });
    assert.deepEqual(fromRuntime, fromBackend);
    assert.equal(loadEnv(backendEnv).FUNCTION_OUTPUT_KEY, loadRuntimeConfig(runtimeEnv).outputKey);
  });
});

describe('the handler the runtime runs', () => {
  const pyfile = getObject<ConfigMapLike>('ConfigMap', 'pyfile');

  test('the `pyfile` ConfigMap holds backend/runtime/functions/usermodule.py, byte for byte', () => {
    assert.equal(pyfile.data?.pyfile, readRepoFile('backend/runtime/functions/usermodule.py'));
  });

  test('is generated from that file, the one source: no copy of it below k8s/', () => {
    assert.deepEqual(
      filesBelow(repoPath('k8s')).filter((f) => f.endsWith('.py')),
      [],
    );
    assert.ok(existsSync(repoPath('backend', 'runtime', 'functions', 'kustomization.yaml')));
    assert.match(readRepoFile('k8s/base/kustomization.yaml'), /^\s+- \.\.\/\.\.\/backend\/runtime\/functions$/m);
  });

  test('reaches FUNCTION_PATH (a link into the mounted folder) and defines the HANDLER_FUNCTION named', () => {
    const config = loadRuntimeConfig(runtimeEnv);
    // The image links FUNCTION_PATH to /opt/function/usermodule.py (see the Dockerfile test).
    const target = '/opt/function/usermodule.py';
    assert.match(readRepoFile('docker/Dockerfile.runtime'), new RegExp(`ln -s ${target} ${config.functionPath}`));
    const mount = runtime.container.volumeMounts?.find((m) => m.mountPath === path.posix.dirname(target));
    assert.ok(mount, `nothing mounted at ${path.posix.dirname(target)}`);
    assert.equal(mount.subPath, undefined, 'a subPath mount would never see ConfigMap edits');
    const volume = runtime.workload.spec.template.spec.volumes?.find((v) => v.name === mount.name);
    assert.equal(volume?.configMap?.name, 'pyfile');
    const item = volume.configMap.items?.find((i) => i.path === path.posix.basename(target));
    assert.equal(item?.key, 'pyfile');
    const [moduleName, functionName] = config.handlerFunction!.split('.');
    assert.equal(moduleName, path.posix.basename(config.functionPath, '.py'));
    assert.match(pyfile.data!.pyfile!, new RegExp(`^def ${functionName}\\(input, context\\):`, 'm'));
  });
});

/** Every `.ts` file below backend/src/http. */
function httpSources(): { file: string; text: string }[] {
  const dir = repoPath('backend', 'src', 'http');
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: f, text: readFileSync(path.join(dir, f), 'utf8') }));
}

/** True when `GET route` is defined in backend/src/http and its router is mounted at the root. */
function rootRoute(route: string): boolean {
  const sources = httpSources();
  const defining = sources.find((s) => s.text.includes(`.get('${route}'`));
  if (!defining) return false;
  const before = defining.text.slice(0, defining.text.indexOf(`.get('${route}'`));
  const factory = [...before.matchAll(/export function (\w+)\(/g)].at(-1)?.[1];
  if (!factory) return false;
  const mounts = sources.flatMap((s) => [...s.text.matchAll(new RegExp(`\\.use\\(([^)]*?)${factory}\\(`, 'g'))]);
  return mounts.length > 0 && mounts.every((m) => m[1]!.trim() === '');
}

function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('backend probes and shutdown', () => {
  const c = backend.container;

  test('readiness is /readyz, liveness and start-up are /healthz, all on the HTTP port', () => {
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(c.startupProbe?.httpGet?.path, '/healthz');
    const port = loadEnv(backendEnv).PORT;
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) assert.equal(probePort(c, probe), port);
  });

  test('/healthz and /readyz are routes of the backend, served at the root', () => {
    assert.ok(rootRoute('/healthz'), 'GET /healthz is not a root route in backend/src/http');
    assert.ok(rootRoute('/readyz'), 'GET /readyz is not a root route in backend/src/http');
  });

  test('the grace period outlasts the preStop pause plus SHUTDOWN_GRACE_SECONDS', () => {
    const sleep = preStopSeconds(c);
    assert.ok(sleep > 0, 'the preStop hook lets the Service stop routing first');
    const grace = loadEnv(backendEnv).SHUTDOWN_GRACE_SECONDS;
    const period = backend.workload.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    assert.ok(period > grace + sleep, `terminationGracePeriodSeconds ${period} <= ${grace} + ${sleep}`);
  });

  test('the start-up probe allows time for the migrations before liveness starts', () => {
    const p = c.startupProbe!;
    assert.ok((p.periodSeconds ?? 10) * (p.failureThreshold ?? 3) >= 60);
  });
});

describe('runtime probes', () => {
  const c = runtime.container;

  test('start-up and liveness ask /healthz, readiness /readyz, on the port the runtime serves them (8081)', () => {
    const port = loadRuntimeConfig(runtimeEnv).healthPort;
    assert.equal(port, 8081);
    assert.equal(c.startupProbe?.httpGet?.path, HEALTH_PATHS.liveness);
    assert.equal(c.livenessProbe?.httpGet?.path, HEALTH_PATHS.liveness);
    assert.equal(c.readinessProbe?.httpGet?.path, HEALTH_PATHS.readiness);
    assert.equal(HEALTH_PATHS.liveness, '/healthz');
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) assert.equal(probePort(c, probe), port);
  });
});

describe('postgres', () => {
  const pg = mainContainer('StatefulSet', 'postgres');
  const pod = pg.workload.spec.template.spec;
  const mount = (p: string) => pg.container.volumeMounts?.find((m) => m.mountPath === p);

  test('runs as the image’s postgres user from the start, on a read-only root, with no capabilities', () => {
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.runAsUser, 999);
    assert.equal(pod.securityContext?.fsGroup, 999);
    assert.match(readRepoFile('docker/Dockerfile.db'), /^USER 999:999$/m);
    const sc = pg.container.securityContext;
    assert.equal(sc?.readOnlyRootFilesystem, true);
    assert.equal(sc?.allowPrivilegeEscalation, false);
    assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
    for (const p of ['/var/run/postgresql', '/tmp']) {
      assert.ok(pod.volumes?.find((v) => v.name === mount(p)?.name)?.emptyDir, `${p} is not a writable emptyDir`);
    }
  });

  test('has a /dev/shm in memory larger than a container’s 64 MB', () => {
    const shm = pod.volumes?.find((v) => v.name === mount('/dev/shm')?.name)?.emptyDir;
    assert.equal(shm?.medium, 'Memory');
    assert.ok(quantity(String(shm?.sizeLimit ?? '0')) > quantity('64Mi'));
    // Memory-backed: it counts against the container's limit.
    assert.ok(quantity(String(shm?.sizeLimit)) < quantity(pg.container.resources?.limits?.memory ?? '0'));
  });

  test('keeps PGDATA below the mount point, on its claim (2Gi on minikube: state only, the photos are blobs)', () => {
    const env = Object.fromEntries((pg.container.env ?? []).map((e) => [e.name, e.value]));
    const data = mount('/var/lib/postgresql/data');
    assert.ok(data);
    assert.ok(env.PGDATA?.startsWith('/var/lib/postgresql/data/'), env.PGDATA);
    const claim = pg.workload.spec.volumeClaimTemplates?.find((t) => t.metadata.name === data.name);
    assert.equal(claim?.spec?.resources?.requests?.storage, '2Gi');
  });

  test('stops with a fast shutdown (Kubernetes ignores STOPSIGNAL), from a hook that returns at once', () => {
    const command = pg.container.lifecycle?.preStop?.exec?.command?.join(' ') ?? '';
    assert.match(command, /pg_ctl stop .*-m fast/);
    // A hook still running when PostgreSQL (PID 1) exits is killed with the container:
    // exit 137 and a FailedPreStopHook warning at every stop. The kubelet's grace
    // period does the waiting.
    assert.match(command, /(--no-wait|\s-W)(\s|$)/);
    assert.doesNotMatch(command, /\s-w(\s|$)|--wait/);
    assert.ok((pod.terminationGracePeriodSeconds ?? 30) >= 30, 'time for a checkpoint');
  });
});

describe('resources and security', () => {
  test('the backend may use at least 512Mi and requests CPU (the autoscaler needs it)', () => {
    const r = backend.container.resources;
    assert.ok(quantity(r?.limits?.memory ?? '0') >= quantity('512Mi'));
    assert.ok(quantity(r?.requests?.cpu ?? '0') > 0);
    assert.ok(quantity(r?.requests?.memory ?? '0') <= quantity(r?.limits?.memory ?? '0'));
  });

  for (const { workload, container } of [backend, runtime]) {
    test(`${workload.metadata.name} runs unprivileged on a read-only root file system, with /tmp writable`, () => {
      const pod = workload.spec.template.spec;
      const sc = container.securityContext;
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.ok((pod.securityContext?.runAsUser ?? 0) > 0);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
      assert.equal(sc?.readOnlyRootFilesystem, true);
      assert.equal(sc?.allowPrivilegeEscalation, false);
      assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
      assert.equal(sc?.capabilities?.add, undefined);
      assert.equal(pod.automountServiceAccountToken, false);
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp, 'no /tmp mount');
      assert.ok(pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir, '/tmp is not an emptyDir');
      assert.ok(container.resources?.limits?.memory, 'no memory limit');
      assert.ok(container.resources?.requests?.cpu, 'no CPU request');
    });
  }
});
