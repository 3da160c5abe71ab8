/**
 * k8s/scripts/*.sh run for real against stand-ins for minikube, kubectl and docker
 * that record how they are called: no cluster, no Docker engine, no network.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { getObject, repoPath, upScriptBuilds, workloads } from './support/repo.js';
import type { Workload } from './support/repo.js';

const BASH = execFileSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();
const SCRIPTS = ['up.sh', 'down.sh', 'status.sh', 'common.sh', 'images.sh'];
const FAKE_DOCKER_HOST = 'tcp://192.0.2.10:2376';
const FAKE_URL = 'http://192.0.2.10:31234';

const stubs: Record<string, string> = {
  minikube: `#!/bin/sh
printf 'minikube %s\\n' "$*" >> "$STUB_LOG"
case "$*" in
  *" status"*) exit "\${STUB_MINIKUBE_STATUS:-0}" ;;
  *docker-env*) printf 'export DOCKER_HOST="${FAKE_DOCKER_HOST}"\\n' ;;
  *"service image-processor --url"*) printf '${FAKE_URL}\\n' ;;
esac
exit 0
`,
  kubectl: `#!/bin/sh
printf 'kubectl %s\\n' "$*" >> "$STUB_LOG"
case "$*" in
  *" get deployment "*) [ -n "$STUB_EXISTING" ] && exit 0; exit 1 ;;
  *" rollout status "*"/$STUB_FAIL_ROLLOUT "*) exit 1 ;;
esac
exit 0
`,
  docker: `#!/bin/sh
printf 'docker[%s] %s\\n' "$DOCKER_HOST" "$*" >> "$STUB_LOG"
exit 0
`,
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-k8s-scripts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let runCount = 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
}

/** Runs a script with only the named stand-ins on PATH (nothing else: the scripts use builtins). */
function run(script: string, args: string[] = [], opts: { tools?: string[]; env?: Record<string, string> } = {}): Run {
  const dir = path.join(tmp, `run-${++runCount}`);
  const bin = path.join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  for (const tool of opts.tools ?? Object.keys(stubs)) {
    writeFileSync(path.join(bin, tool), stubs[tool]!);
    chmodSync(path.join(bin, tool), 0o755);
  }
  const log = path.join(dir, 'calls.log');
  const result = spawnSync(BASH, [repoPath('k8s', 'scripts', script), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: bin, STUB_LOG: log, ...opts.env },
  });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const indexOf = (calls: string[], fragment: string) => calls.findIndex((c) => c.includes(fragment));

describe('k8s/scripts', () => {
  test('are valid bash', () => {
    for (const s of SCRIPTS) {
      const r = spawnSync(BASH, ['-n', repoPath('k8s', 'scripts', s)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${s}: ${r.stderr}`);
    }
  });

  test('are strict (set -euo pipefail) and are the ones package.json runs', () => {
    const scripts = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['up', 'down', 'status']) {
      assert.equal(scripts[`k8s:${name}`], `bash k8s/scripts/${name}.sh`);
      assert.match(readFileSync(repoPath('k8s', 'scripts', `${name}.sh`), 'utf8'), /^set -euo pipefail$/m);
    }
  });
});

describe('npm run k8s:up', () => {
  test('builds the images inside minikube, applies k8s/, waits for every rollout and prints the URL', () => {
    const r = run('up.sh');
    assert.equal(r.status, 0, r.stderr);
    const { calls } = r;

    const dockerEnv = indexOf(calls, 'minikube -p minikube docker-env');
    assert.ok(dockerEnv >= 0, 'minikube docker-env');
    const builds = calls.filter((c) => c.startsWith('docker['));
    assert.deepEqual(
      builds,
      upScriptBuilds().map((b) => `docker[${FAKE_DOCKER_HOST}] build -t ${b.tag} -f ${b.dockerfile} ${b.context}`),
      'every image is built against minikube’s Docker engine',
    );
    const apply = calls.indexOf('kubectl --context minikube apply -k k8s/');
    assert.ok(apply > indexOf(calls, `build -t ${upScriptBuilds().at(-1)!.tag}`), 'applied after the builds');
    assert.ok(indexOf(calls, 'docker[') > dockerEnv);

    for (const w of workloads()) {
      const wait = indexOf(calls, `rollout status ${w.kind.toLowerCase()}/${w.metadata.name} `);
      assert.ok(wait > apply, `waits for ${w.kind}/${w.metadata.name}`);
    }
    assert.equal(indexOf(calls, 'rollout restart'), -1, 'nothing to restart on a fresh cluster');
    assert.equal(calls.at(-1), 'minikube -p minikube service image-processor --url');
    assert.ok(r.stdout.trimEnd().endsWith(FAKE_URL));
    assert.ok(calls.filter((c) => c.startsWith('kubectl ')).every((c) => c.startsWith('kubectl --context minikube ')));
  });

  test('restarts the existing deployments so they run the images just built', () => {
    const r = run('up.sh', [], { env: { STUB_EXISTING: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const restart = r.calls.indexOf(
      'kubectl --context minikube rollout restart deployment/image-processor deployment/imgfleet-runtime',
    );
    assert.ok(restart > r.calls.indexOf('kubectl --context minikube apply -k k8s/'));
  });

  test('starts minikube when it is not running, with MINIKUBE_START_ARGS, and honours MINIKUBE_PROFILE', () => {
    const r = run('up.sh', [], {
      env: { STUB_MINIKUBE_STATUS: '7', MINIKUBE_START_ARGS: '--cpus=4 --memory=6g', MINIKUBE_PROFILE: 'imgfleet' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.includes('minikube -p imgfleet start --cpus=4 --memory=6g'), r.calls.join('\n'));
    assert.ok(r.calls.includes('kubectl --context imgfleet apply -k k8s/'));

    const plain = run('up.sh', [], { env: { STUB_MINIKUBE_STATUS: '7' } });
    assert.equal(plain.status, 0, plain.stderr);
    assert.ok(plain.calls.includes('minikube -p minikube start'), plain.calls.join('\n'));
  });

  for (const missing of ['minikube', 'kubectl', 'docker']) {
    test(`stops with a clear message, before doing anything, when ${missing} is missing`, () => {
      const r = run('up.sh', [], { tools: Object.keys(stubs).filter((t) => t !== missing) });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`${missing} is not installed or not on PATH`));
      assert.equal(indexOf(r.calls, 'docker['), -1);
      assert.equal(indexOf(r.calls, 'apply'), -1);
    });
  }

  test('fails, naming the workload, when a rollout does not finish', () => {
    const r = run('up.sh', [], { env: { STUB_FAIL_ROLLOUT: 'image-processor' } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /deployment\/image-processor did not become ready/);
    assert.equal(indexOf(r.calls, 'service image-processor --url'), -1);
  });
});

describe('npm run k8s:down and k8s:status', () => {
  const sts = getObject<Workload>('StatefulSet', 'postgres');
  const claim = `${sts.spec.volumeClaimTemplates![0]!.metadata.name}-${sts.metadata.name}-0`;

  test('down deletes what k8s/ created and keeps the database volume', () => {
    const r = run('down.sh');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, ['kubectl --context minikube delete -k k8s/ --ignore-not-found --wait=true']);
    assert.match(r.stdout, new RegExp(`kept the database volume ${claim}`));
  });

  test('down --purge deletes the database volume as well', () => {
    const r = run('down.sh', ['--purge']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.calls.at(-1), `kubectl --context minikube delete persistentvolumeclaim ${claim} --ignore-not-found --wait=true`);
  });

  test('down refuses an unknown argument', () => {
    const r = run('down.sh', ['--force']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown argument: --force/);
    assert.deepEqual(r.calls, []);
  });

  test('status lists the product’s objects and the queue', () => {
    const r = run('status.sh');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.some((c) => c.includes(' get pods -l app.kubernetes.io/part-of=imgfleet')));
    assert.ok(r.calls.some((c) => c.includes(' exec postgres-0 -- ')));
  });
});
