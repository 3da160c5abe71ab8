/**
 * k8s/scripts/*.sh run for real against stand-ins for minikube, kubectl, docker and
 * git that record how they are called and keep what reached "minikube" in a file:
 * no cluster, no Docker engine, no network. The minikube stand-in behaves as
 * minikube does where it matters: `docker-env` refuses a containerd or CRI-O node,
 * and `minikube image build` exits 0 even when the build failed. The kubectl
 * stand-in renders what `apply -k` is given with the real kubectl's kustomize, so
 * the test sees the images the cluster would be told to run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, getObject, readRepoFile, repoPath, upScriptBuilds, workloads } from './support/repo.js';
import type { K8sObject, Workload } from './support/repo.js';

const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
const BASH = which('bash');
const REAL_KUBECTL = which('kubectl');
const SCRIPTS = ['up.sh', 'down.sh', 'status.sh', 'common.sh', 'images.sh'];
const FAKE_DOCKER_HOST = 'tcp://192.0.2.10:2376';
const FAKE_URL = 'http://192.0.2.10:31234';
const VERSION = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
const COMMIT = '0123456789ab';
const DB_COMMIT = 'fedcba987654';

/** minikube as it answers: `-p PROFILE` first, images kept in $STUB_STATE/images. */
const MINIKUBE = `#!/bin/sh
PATH=/usr/bin:/bin
printf 'minikube %s\\n' "$*" >> "$STUB_LOG"
[ "$1" = -p ] && shift 2
case "$1 $2" in
  "status "*) exit "\${STUB_MINIKUBE_STATUS:-0}" ;;
  "docker-env "*)
    if [ "\${STUB_RUNTIME:-docker}" = docker ]; then printf 'export DOCKER_HOST="${FAKE_DOCKER_HOST}"\\n'; exit 0; fi
    printf 'X Exiting due to MK_USAGE: The docker-env command is only compatible with the "docker" runtime, but this cluster was configured to use the "%s" runtime.\\n' "$STUB_RUNTIME" >&2
    exit 14 ;;
  "image build")
    shift 2
    while [ $# -gt 0 ]; do case "$1" in -t) tag=$2; shift 2 ;; -f) file=$2; shift 2 ;; *) context=$1; shift ;; esac; done
    # minikube reads -f inside the context it copied, and exits 0 when the build fails.
    case " \${STUB_BUILD_FAILS:-} " in *" \${tag%%:*} "*) echo "ERROR: failed to solve: process did not complete successfully" >&2; exit 0 ;; esac
    [ -f "$context/$file" ] || { echo "failed to read dockerfile: open $context/$file: no such file" >&2; exit 0; }
    echo "docker.io/library/$tag" >> "$STUB_STATE/images" ;;
  "image ls") cat "$STUB_STATE/images" 2>/dev/null; echo registry.k8s.io/pause:3.10 ;;
  "service image-processor") printf '${FAKE_URL}\\n' ;;
esac
exit 0
`;

/** docker: a build reaches minikube only against minikube's own engine (docker-env). */
const DOCKER = `#!/bin/sh
PATH=/usr/bin:/bin
printf 'docker[%s] %s\\n' "$DOCKER_HOST" "$*" >> "$STUB_LOG"
if [ "$1" = build ] && [ "$DOCKER_HOST" = "${FAKE_DOCKER_HOST}" ]; then
  while [ $# -gt 0 ]; do case "$1" in -t) tag=$2; shift 2 ;; *) shift ;; esac; done
  echo "docker.io/library/$tag" >> "$STUB_STATE/images"
fi
exit 0
`;

/** kubectl: stdin of `create -f -` and the rendering of `apply -k DIR` are kept. */
const KUBECTL = `#!/bin/sh
PATH=/usr/bin:/bin
printf 'kubectl %s\\n' "$*" >> "$STUB_LOG"
[ "$1" = --context ] && shift 2
case "$*" in
  "get nodes -o "*) printf '%s://1.7.23' "\${STUB_RUNTIME:-docker}" ;;
  "get secret postgres-secret --ignore-not-found -o name") [ -n "$STUB_SECRET_EXISTS" ] && echo secret/postgres-secret ;;
  "create -f -") cat > "$STUB_STATE/created.yaml" ;;
  "get deployment/image-processor -o "*) [ -n "$STUB_EXISTING_TAG" ] && printf 'image-processor:%s' "$STUB_EXISTING_TAG" ;;
  "get deployment/imgfleet-runtime -o "*) [ -n "$STUB_EXISTING_TAG" ] && printf 'imgfleet-runtime:%s' "$STUB_EXISTING_TAG" ;;
  "get statefulset/postgres -o "*) [ -n "$STUB_EXISTING_TAG" ] && printf 'postgres-db:%s' "$STUB_EXISTING_TAG" ;;
  "apply -k "*)
    n=$(ls "$STUB_STATE" | grep -c '^applied') || true
    "$REAL_KUBECTL" kustomize "$3" > "$STUB_STATE/applied-$n.yaml" || exit 1
    if [ -n "$STUB_STS_FORBIDDEN" ] && [ "$n" = 0 ]; then
      echo 'The StatefulSet "postgres" is invalid: spec: Forbidden: updates to statefulset spec for fields other than '"'"'replicas'"'"', '"'"'ordinals'"'"', '"'"'template'"'"', '"'"'updateStrategy'"'"', '"'"'persistentVolumeClaimRetentionPolicy'"'"' and '"'"'minReadySeconds'"'"' are forbidden' >&2
      exit 1
    fi ;;
  "rollout status "*"/$STUB_FAIL_ROLLOUT "*) exit 1 ;;
esac
exit 0
`;

/** git: a fixed commit; the database image's inputs last changed in another one; dirty on demand. */
const GIT = `#!/bin/sh
PATH=/usr/bin:/bin
printf 'git %s\\n' "$*" >> "$STUB_LOG"
[ "$1" = -C ] && shift 2
case "$*" in
  "rev-parse --short=12 HEAD") echo ${COMMIT} ;;
  "log -1 --format=%h --abbrev=12 -- "*) echo ${DB_COMMIT} ;;
  "status --porcelain"*) [ -n "$STUB_GIT_DIRTY" ] && echo ' M backend/src/main.ts' ;;
esac
exit 0
`;

const STUBS: Record<string, string> = { minikube: MINIKUBE, kubectl: KUBECTL, docker: DOCKER, git: GIT };
/** Tools the scripts use from the system besides the stand-ins. */
const SYSTEM_TOOLS = ['mktemp', 'rm'];

const tmp = mkdtempSyncSafe();
after(() => rmSync(tmp, { recursive: true, force: true }));
let runCount = 0;

function mkdtempSyncSafe(): string {
  const dir = path.join(os.tmpdir(), `imgfleet-k8s-scripts-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
  state: string;
  /** What reached minikube's image store. */
  images: string[];
  /** The objects each `kubectl apply -k` would have sent, in order. */
  applied: K8sObject[][];
}

/** Runs a script with only the stand-ins (and mktemp, rm) on PATH. */
function run(script: string, args: string[] = [], opts: { tools?: string[]; env?: Record<string, string> } = {}): Run {
  const dir = path.join(tmp, `run-${++runCount}`);
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  mkdirSync(bin, { recursive: true });
  mkdirSync(state);
  for (const tool of opts.tools ?? Object.keys(STUBS)) {
    if (STUBS[tool]) {
      writeFileSync(path.join(bin, tool), STUBS[tool]);
      chmodSync(path.join(bin, tool), 0o755);
    } else symlinkSync(which(tool), path.join(bin, tool));
  }
  for (const tool of SYSTEM_TOOLS) symlinkSync(which(tool), path.join(bin, tool));
  const log = path.join(dir, 'calls.log');
  const result = spawnSync(BASH, [repoPath('k8s', 'scripts', script), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: bin, STUB_LOG: log, STUB_STATE: state, REAL_KUBECTL, TMPDIR: dir, ...opts.env },
  });
  const read = (f: string) => (existsSync(path.join(state, f)) ? readFileSync(path.join(state, f), 'utf8') : '');
  const applied: K8sObject[][] = [];
  for (let n = 0; existsSync(path.join(state, `applied-${n}.yaml`)); n++) {
    applied.push(parseAllDocuments(read(`applied-${n}.yaml`)).map((d) => d.toJS() as K8sObject));
  }
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [],
    state,
    images: read('images').trim().split('\n').filter(Boolean),
    applied,
  };
}

const indexOf = (calls: string[], fragment: string) => calls.findIndex((c) => c.includes(fragment));
const tagOf = (name: string, dirty = false) => `${VERSION}-${name === 'postgres-db' ? DB_COMMIT : COMMIT}${dirty ? '-dirty' : ''}`;

/** The image every container of the applied objects runs. */
function appliedImages(objects: K8sObject[]): string[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
    .flatMap((o) => (o as Workload).spec.template.spec.containers.map((c) => c.image));
}

/** Every image the applied objects name was built into minikube under exactly that name. */
function assertImagesReachedMinikube(r: Run): void {
  assert.equal(r.applied.length, 1, `applied ${r.applied.length} times\n${r.stderr}`);
  const used = appliedImages(r.applied[0]!);
  for (const b of upScriptBuilds()) {
    const ref = `${b.name}:${tagOf(b.name)}`;
    assert.ok(used.includes(ref), `the cluster is not told to run ${ref}: ${used.join(', ')}`);
    assert.ok(r.images.includes(`docker.io/library/${ref}`), `${ref} did not reach minikube: ${r.images.join(', ')}`);
  }
}

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

describe('npm run k8s:up on a docker-runtime minikube', () => {
  test('builds the images inside minikube’s engine, tagged <version>-<commit>, applies the overlay with those tags, waits, prints the URL', () => {
    const r = run('up.sh');
    assert.equal(r.status, 0, r.stderr);
    const { calls } = r;
    const dockerEnv = indexOf(calls, 'minikube -p minikube docker-env');
    assert.ok(dockerEnv >= 0, 'minikube docker-env');
    assert.deepEqual(
      calls.filter((c) => c.startsWith('docker[')),
      upScriptBuilds().map((b) => `docker[${FAKE_DOCKER_HOST}] build -t ${b.name}:${tagOf(b.name)} -f ${b.dockerfile} ${b.context}`),
    );
    assertImagesReachedMinikube(r);
    const apply = indexOf(calls, 'kubectl --context minikube apply -k ');
    assert.ok(apply > indexOf(calls, 'minikube -p minikube image ls'), 'checked the images before applying');
    for (const w of workloads()) {
      assert.ok(indexOf(calls, `rollout status ${w.kind.toLowerCase()}/${w.metadata.name} `) > apply, `waits for ${w.kind}/${w.metadata.name}`);
    }
    assert.equal(indexOf(calls, 'rollout restart'), -1, 'nothing to restart on a fresh cluster');
    assert.equal(calls.at(-1), 'minikube -p minikube service image-processor --url');
    assert.ok(r.stdout.trimEnd().endsWith(FAKE_URL));
    assert.ok(calls.filter((c) => c.startsWith('kubectl ')).every((c) => c.startsWith('kubectl --context minikube ')));
  });

  test('the applied objects are the minikube overlay’s, with only the image tags changed', () => {
    const r = run('up.sh');
    assert.equal(r.status, 0, r.stderr);
    const retag = (objects: K8sObject[]) =>
      JSON.stringify(objects).replace(new RegExp(`(image-processor|postgres-db|imgfleet-runtime):${VERSION}-[0-9a-f]{12}`, 'g'), `$1:${VERSION}`);
    assert.equal(
      retag(r.applied[0]!),
      JSON.stringify(
        parseAllDocuments(execFileSync(REAL_KUBECTL, ['kustomize', repoPath('k8s/overlays/minikube')], { encoding: 'utf8' })).map((d) => d.toJS() as unknown),
      ),
    );
  });

  test('without a docker client, builds with `minikube image build`', () => {
    const r = run('up.sh', [], { tools: ['minikube', 'kubectl', 'git'] });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(indexOf(r.calls, 'docker-env'), -1);
    assertImagesReachedMinikube(r);
  });
});

describe('npm run k8s:up on a containerd or CRI-O minikube', () => {
  for (const runtime of ['containerd', 'cri-o']) {
    test(`${runtime}: builds every image with \`minikube image build\` (the Dockerfile named inside its context), never with docker-env`, () => {
      const r = run('up.sh', [], { env: { STUB_RUNTIME: runtime } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(indexOf(r.calls, 'docker-env'), -1, 'docker-env only works on a docker runtime');
      assert.deepEqual(
        r.calls.filter((c) => c.startsWith('docker[')),
        [],
        'nothing built on the host’s engine',
      );
      const builds = r.calls.filter((c) => c.includes(' image build '));
      assert.deepEqual(
        builds,
        upScriptBuilds().map(
          (b) => `minikube -p minikube image build -t ${b.name}:${tagOf(b.name)} -f ${path.posix.relative(b.context, b.dockerfile)} ${b.context}`,
        ),
      );
      assertImagesReachedMinikube(r);
    });
  }

  test('a build that fails (minikube image build still exits 0) stops the script, naming the image, before anything is applied', () => {
    const r = run('up.sh', [], { env: { STUB_RUNTIME: 'containerd', STUB_BUILD_FAILS: 'postgres-db' } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`postgres-db:${tagOf('postgres-db')} did not reach minikube`));
    assert.match(r.stderr, /minikube image build/);
    assert.equal(indexOf(r.calls, ' apply '), -1);
  });
});

describe('npm run k8s:up: tags, Secret, restarts', () => {
  test('a working tree with changes is tagged -dirty, and a deployment already on that tag is restarted to run the rebuilt image', () => {
    const tag = tagOf('image-processor', true);
    const r = run('up.sh', [], { env: { STUB_GIT_DIRTY: '1', STUB_EXISTING_TAG: tag } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(appliedImages(r.applied[0]!).includes(`image-processor:${tag}`));
    const restart = r.calls.indexOf('kubectl --context minikube rollout restart deployment/image-processor deployment/imgfleet-runtime');
    assert.ok(restart > indexOf(r.calls, ' apply -k '), r.calls.join('\n'));
  });

  test('a deployment on another (older) tag is not restarted: the new tag rolls it out', () => {
    const r = run('up.sh', [], { env: { STUB_EXISTING_TAG: `${VERSION}-000000000000` } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(indexOf(r.calls, 'rollout restart'), -1);
  });

  test('without the stand-ins, the tag is the package version and the repository’s HEAD, -dirty with changes', () => {
    const real = spawnSync(BASH, ['-c', 'source k8s/scripts/common.sh && source k8s/scripts/images.sh && image_tag image-processor'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(real.status, 0, real.stderr);
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain'], { encoding: 'utf8' }).trim() !== '';
    assert.equal(real.stdout.trim(), `${VERSION}-${head}${dirty ? '-dirty' : ''}`);
  });

  test('makes a random postgres-secret when there is none, without printing it or passing it on a command line', () => {
    const passwords = [run('up.sh'), run('up.sh')].map((r) => {
      assert.equal(r.status, 0, r.stderr);
      assert.ok(indexOf(r.calls, 'kubectl --context minikube create -f -') < indexOf(r.calls, ' apply -k '));
      const secret = parseAllDocuments(readFileSync(path.join(r.state, 'created.yaml'), 'utf8'))[0]!.toJS() as {
        kind: string;
        metadata: { name: string; labels: Record<string, string> };
        stringData: { username: string; password: string };
      };
      assert.equal(secret.kind, 'Secret');
      assert.equal(secret.metadata.name, 'postgres-secret');
      assert.equal(secret.metadata.labels['app.kubernetes.io/part-of'], 'imgfleet');
      assert.equal(secret.stringData.username, 'postgres');
      assert.match(secret.stringData.password, /^[A-Za-z0-9]{32}$/);
      for (const text of [r.stdout, r.stderr, r.calls.join('\n')]) assert.ok(!text.includes(secret.stringData.password), 'the password was shown');
      return secret.stringData.password;
    });
    assert.notEqual(passwords[0], passwords[1]);
  });

  test('keeps a postgres-secret the user created first (the earlier `kubectl create secret generic …`)', () => {
    const r = run('up.sh', [], { env: { STUB_SECRET_EXISTS: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(indexOf(r.calls, ' create '), -1);
    assert.match(r.stdout, /postgres-secret exists: kept/);
  });

  test('an installation from before the resized PostgreSQL volume: the StatefulSet is replaced, its pod and volume kept', () => {
    const r = run('up.sh', [], { env: { STUB_STS_FORBIDDEN: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const orphan = r.calls.indexOf('kubectl --context minikube delete statefulset postgres --cascade=orphan');
    assert.ok(orphan > 0, r.calls.join('\n'));
    assert.equal(r.applied.length, 2);
    assert.match(r.stdout, /kept its volume/);
  });

  test('starts minikube when it is not running, with MINIKUBE_START_ARGS, and honours MINIKUBE_PROFILE', () => {
    const r = run('up.sh', [], {
      env: { STUB_MINIKUBE_STATUS: '7', MINIKUBE_START_ARGS: '--cpus=4 --memory=6g', MINIKUBE_PROFILE: 'imgfleet' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.includes('minikube -p imgfleet start --cpus=4 --memory=6g'), r.calls.join('\n'));
    assert.ok(indexOf(r.calls, 'kubectl --context imgfleet apply -k ') >= 0);
  });

  for (const missing of ['minikube', 'kubectl']) {
    test(`stops with a clear message, before doing anything, when ${missing} is missing`, () => {
      const r = run('up.sh', [], { tools: Object.keys(STUBS).filter((t) => t !== missing) });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`${missing} is not installed or not on PATH`));
      assert.equal(indexOf(r.calls, 'build'), -1);
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

  test('down deletes what the overlay created and keeps the data: the volumes and the Secret', () => {
    const r = run('down.sh');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      `kubectl --context minikube delete -k k8s/overlays/minikube -l app.kubernetes.io/component!=data --ignore-not-found --wait=true`,
    ]);
    assert.match(r.stdout, new RegExp(`kept the volumes ${claim} and image-blobs and the Secret postgres-secret`));
  });

  test('down --purge deletes the volumes and the Secret as well', () => {
    const r = run('down.sh', ['--purge']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.slice(1), [
      `kubectl --context minikube delete persistentvolumeclaim ${claim} image-blobs --ignore-not-found --wait=true`,
      'kubectl --context minikube delete secret postgres-secret --ignore-not-found',
    ]);
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

describe('scripts/containers', () => {
  test('every apt-get waits for another process’s lock instead of failing on it', () => {
    for (const file of ['setup-podman.sh', 'bases.sh', 'test.sh']) {
      const text = readRepoFile(`scripts/containers/${file}`).replace(/#.*$/gm, '');
      // Commands only: a command line's start, or after && ; |.
      const calls = [...text.matchAll(/(?:^|[;&|])[ \t]*(apt-get\b[^\n]*)/gm)].map((m) => m[1]!);
      if (file === 'setup-podman.sh') assert.ok(calls.length >= 2, 'setup-podman.sh installs with apt-get');
      for (const call of calls) assert.match(call, /-o DPkg::Lock::Timeout=\d+/, `${file}: ${call}`);
    }
  });

  test('test.sh builds the images with the tags k8s:up builds, and hands them to the tests', () => {
    const text = readRepoFile('scripts/containers/test.sh');
    assert.match(text, /source k8s\/scripts\/images\.sh/);
    assert.match(text, /for_each_image/);
    assert.match(text, /export IMGFLEET_IMAGES=/);
  });
});
