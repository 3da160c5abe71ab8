/**
 * The Dockerfiles without a Docker engine: what they copy exists (or is built by the
 * build stage), what they run is what the build produces, and they agree with the
 * manifests that run them (user, port, environment).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultWebRoot } from '../../src/http/web.js';
import { BACKEND_NODE_FLAGS } from '../../src/node-flags.js';
import { BRIDGE_PATH } from '@imgfleet/runtime';
import { REPO_ROOT, allContainers, copyArgs, dockerStages, execForm, filesBelow, readRepoFile, repoPath, upScriptBuilds, workloads } from './support/repo.js';
import type { ImageBuild, Stage } from './support/repo.js';

const builds = upScriptBuilds();
const build = (name: string): ImageBuild => {
  const b = builds.find((x) => x.name === name);
  if (!b) throw new Error(`up.sh does not build ${name}`);
  return b;
};
const posixRel = (abs: string) => path.relative(REPO_ROOT, abs).split(path.sep).join('/');

// ---- .dockerignore (the subset of its syntax this repository uses, with Docker's rules:
// a path is excluded when the last pattern matching it or one of its parents is not a `!`).
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const ignoreRules = readRepoFile('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const negate = l.startsWith('!');
    const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
    return { negate, re: globToRegExp(pattern) };
  });

function ignored(rel: string): boolean {
  const parts = rel.split('/');
  let excluded = false;
  for (const rule of ignoreRules) {
    for (let n = 1; n <= parts.length; n++) {
      if (rule.re.test(parts.slice(0, n).join('/'))) {
        excluded = !rule.negate;
        break;
      }
    }
  }
  return excluded;
}

function finalStage(stages: Stage[]): Stage {
  return stages.at(-1)!;
}

function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The repository paths a final stage ends up containing (its COPY destinations below WORKDIR). */
function copiedTo(stage: Stage): { dest: string; from: string | undefined; sources: string[] }[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const c = copyArgs(i);
      return { dest: path.posix.resolve(stage.workdir, c.dest), from: c.from, sources: c.sources };
    });
}

describe('.dockerignore', () => {
  test('keeps the host’s installed and built files out of the build context', () => {
    for (const p of ['node_modules', 'backend/node_modules', 'backend/dist', 'desktop/dist/renderer/index.html', '.git']) {
      assert.ok(ignored(p), `${p} is sent to the builder`);
    }
    for (const p of ['package.json', 'package-lock.json', 'backend/src/main.ts', 'desktop/package.json', 'backend/runtime/python/bridge.py']) {
      assert.ok(!ignored(p), `${p} is excluded`);
    }
  });
});

for (const b of builds) {
  describe(`${b.dockerfile} (${b.name}, context ${b.context})`, () => {
    const stages = dockerStages(b.dockerfile);
    const final = finalStage(stages);

    test('every COPY source exists in the build context and is not excluded by .dockerignore', () => {
      for (const stage of stages) {
        for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
          const c = copyArgs(ins);
          if (c.from !== undefined) continue;
          assert.ok(c.sources.length > 0, `${b.dockerfile}:${c.line}`);
          for (const src of c.sources) {
            const rel = path.posix.normalize(path.posix.join(b.context, src));
            assert.ok(!rel.startsWith('..'), `${b.dockerfile}:${c.line}: ${src} is outside the context`);
            assert.ok(existsSync(repoPath(rel)), `${b.dockerfile}:${c.line}: ${rel} does not exist`);
            if (b.context === '.') assert.ok(!ignored(rel), `${b.dockerfile}:${c.line}: ${rel} is in .dockerignore`);
          }
        }
      }
    });

    test('every COPY --from names an earlier stage and a folder that stage builds', () => {
      const names: string[] = [];
      for (const stage of stages) {
        for (const c of copiedTo(stage).filter((x) => x.from !== undefined)) {
          assert.ok(names.includes(c.from!), `--from=${c.from} is not an earlier stage`);
          const source = stages.find((s) => s.name === c.from)!;
          for (const src of c.sources) {
            const inStage = path.posix.resolve(source.workdir, src);
            // The node binary of the node image, and a production install, each to the same place.
            if (inStage === '/usr/local/bin/node' && c.dest === inStage) continue;
            if (inStage === `${source.workdir}/node_modules` && c.dest === `${stage.workdir}/node_modules`) {
              assert.ok(
                runs(source).some((r) => /\bnpm ci --omit=dev\b/.test(r)),
                `${c.from}'s node_modules is not a production install`,
              );
              continue;
            }
            assert.ok(inStage.startsWith(`${source.workdir}/`), `${src} is outside the ${c.from} stage's workspace`);
            const rel = inStage.slice(source.workdir.length + 1);
            // Only build output crosses stages, and it lands where the repository has it.
            assert.match(rel, /^(backend\/runtime|backend|desktop)\/dist\//, `${rel} is not build output`);
            assert.equal(path.posix.relative(stage.workdir, c.dest), rel, `${rel} is copied to ${c.dest}`);
          }
        }
        if (stage.name) names.push(stage.name);
      }
    });

    test('every npm ci sees the lockfile and every workspace manifest first', () => {
      const workspaces = (JSON.parse(readRepoFile('package.json')) as { workspaces: string[] }).workspaces;
      for (const stage of stages) {
        const npmCi = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
        if (npmCi < 0) continue;
        const copied = stage.instructions
          .slice(0, npmCi)
          .filter((i) => i.keyword === 'COPY')
          .flatMap((i) => {
            const c = copyArgs(i);
            const dest = path.posix.resolve(stage.workdir, c.dest);
            return c.sources.map((s) =>
              path.posix.relative(stage.workdir, c.dest.endsWith('/') || c.sources.length > 1 ? path.posix.join(dest, path.posix.basename(s)) : dest),
            );
          });
        for (const need of ['package.json', 'package-lock.json', ...workspaces.map((w) => `${w}/package.json`)]) {
          assert.ok(copied.includes(need), `stage ${stage.name ?? '(final)'} runs npm ci without ${need}`);
        }
      }
    });

    if (b.name !== 'postgres-db') {
      // The npm workspace the image runs: the runtime image installs only its own.
      const workspace = b.name === 'imgfleet-runtime' ? 'backend/runtime' : 'backend';
      test('is Node 24 on Debian bookworm (glibc for sharp) with production dependencies only, checked by npm ls', () => {
        // npm runs in node:24 stages; the final stage is the same Debian with their node binary.
        for (const s of stages.slice(0, -1)) assert.equal(s.base, 'node:24-bookworm-slim');
        assert.equal(final.base, 'debian:bookworm-slim');
        const fromNode = copiedTo(final).find((c) => c.dest === '/usr/local/bin/node');
        assert.deepEqual(fromNode?.sources, ['/usr/local/bin/node']);
        const modules = copiedTo(final).find((c) => c.dest === path.posix.join(final.workdir, 'node_modules'));
        assert.ok(modules?.from, 'node_modules comes from an install stage');
        const deps = stages.find((s) => s.name === modules.from)!;
        const install = runs(deps).find((r) => /\bnpm ci\b/.test(r));
        assert.ok(install, `stage ${modules.from} installs the dependencies`);
        // An install that failed or ran offline can leave node_modules empty with exit 0.
        assert.match(install, new RegExp(`npm ls --omit=dev --workspace ${workspace}\\b`));
        assert.match(install, /--omit=dev/);
        assert.match(install, new RegExp(`--workspace(=|\\s+)${workspace}(\\s|$)`));
        assert.equal(envOf(final).NODE_ENV, 'production');
      });

      test('runs as the numeric, unprivileged user the manifests run it as', () => {
        const user = final.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
        assert.match(user ?? '', /^[1-9][0-9]*(:[1-9][0-9]*)?$/, `USER ${user}`);
        const uid = Number(user!.split(':')[0]);
        const users = workloads().filter((w) => allContainers(w).some((c) => c.image.split(':')[0] === b.name));
        assert.ok(users.length > 0);
        for (const w of users) assert.equal(w.spec.template.spec.securityContext?.runAsUser, uid, w.metadata.name);
      });

      test('CMD starts a file the build produces and the image contains', () => {
        const cmd = execForm(final.instructions.filter((i) => i.keyword === 'CMD').at(-1)!.args);
        assert.equal(cmd[0], 'node');
        // node's own flags come first (the backend's: node-flags.ts), then the file.
        const file = cmd.slice(1).find((arg) => !arg.startsWith('--'));
        assert.ok(file, `CMD names no file: ${cmd.join(' ')}`);
        const inImage = path.posix.resolve(final.workdir, file);
        const rel = path.posix.relative(final.workdir, inImage);
        assert.ok(existsSync(repoPath(rel)), `${rel} is not built (npx tsc -b backend)`);
        assert.ok(
          copiedTo(final).some((c) => inImage === c.dest || inImage.startsWith(`${c.dest}/`)),
          `nothing copies ${rel} into the image`,
        );
        const bin = (JSON.parse(readRepoFile(`${workspace}/package.json`)) as { bin: Record<string, string> }).bin;
        assert.ok(
          Object.values(bin).some((p) => path.posix.join(workspace, p) === rel),
          `${rel} is not a bin of ${workspace}`,
        );
      });
    }
  });
}

describe('docker/Dockerfile.app', () => {
  const b = build('image-processor');
  const stages = dockerStages(b.dockerfile);
  const final = finalStage(stages);

  test('builds everything with npm ci and npm run build in a separate stage', () => {
    assert.ok(stages.length >= 2);
    const buildStage = stages[0]!;
    assert.ok(
      runs(buildStage).some((r) => /^npm ci(\s|$)/.test(r) && !/--workspace|--omit/.test(r)),
      'the build stage installs the full workspace',
    );
    assert.ok(runs(buildStage).includes('npm run build'));
    const rootBuild = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts.build!;
    assert.match(rootBuild, /tsc -b/);
    assert.match(rootBuild, /--workspace desktop/);
  });

  test('listens on all interfaces, on the port the Deployment declares', () => {
    const env = envOf(final);
    assert.equal(env.HOST, '0.0.0.0');
    const exposed = final.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => Number(i.args.split('/')[0]));
    const backend = workloads().find((w) => w.metadata.name === 'image-processor')!;
    const port = backend.spec.template.spec.containers[0]!.ports?.find((p) => p.name === 'http')?.containerPort;
    assert.deepEqual(exposed, [port]);
    assert.equal(Number(env.PORT ?? 8080), port);
  });

  test('contains the web UI where the backend looks for it', () => {
    const webRoot = posixRel(defaultWebRoot());
    assert.equal(webRoot, 'desktop/dist/renderer');
    assert.ok(
      copiedTo(final).some((c) => c.dest === path.posix.join(final.workdir, webRoot)),
      'the renderer build is not copied',
    );
    // It is the desktop workspace's build output (npm run build --workspace desktop).
    const desktop = JSON.parse(readRepoFile('desktop/package.json')) as { scripts: Record<string, string> };
    const script = /^node\s+(\S+)/.exec(desktop.scripts.build ?? '')?.[1];
    assert.ok(script, 'desktop has no `node <script>` build script');
    assert.ok(existsSync(repoPath('desktop', script)), `desktop/${script} does not exist`);
    assert.match(readFileSync(repoPath('desktop', script), 'utf8'), /dist[/'", ]+renderer/);
  });

  test('carries the backend’s build and the runtime workspace’s, whose default handler it imports', () => {
    const copied = copiedTo(final).map((c) => posixRel(path.join(REPO_ROOT, path.posix.relative(final.workdir, c.dest))));
    for (const dir of ['backend/dist/src', 'backend/runtime/dist/src']) assert.ok(copied.includes(dir), dir);
  });
});

describe('docker/Dockerfile.runtime', () => {
  const b = build('imgfleet-runtime');
  const final = finalStage(dockerStages(b.dockerfile));

  test('installs python3 for Python handlers and carries the bridge the runtime starts', () => {
    assert.ok(runs(final).some((r) => /apt-get install\b.*\bpython3\b/.test(r)));
    const bridge = posixRel(BRIDGE_PATH);
    assert.ok(existsSync(repoPath(bridge)), `${bridge} does not exist`);
    const copiedDirs = copiedTo(final).map((c) => path.posix.relative(final.workdir, c.dest));
    assert.ok(
      copiedDirs.some((d) => bridge.startsWith(`${d}/`)),
      `${bridge} is not copied into the image`,
    );
  });

  test('ships the default handler where the ConfigMap folder is mounted, linked from the default FUNCTION_PATH', () => {
    const copy = copiedTo(final).find((c) => c.dest === '/opt/function/usermodule.py');
    assert.deepEqual(copy?.sources, ['backend/runtime/functions/usermodule.py']);
    assert.ok(runs(final).some((r) => r.includes('ln -s /opt/function/usermodule.py /opt/usermodule.py')));
  });
});

describe('docker/Dockerfile.db and docker/init.sql', () => {
  const b = build('postgres-db');
  const stages = dockerStages(b.dockerfile);

  test('is the official PostgreSQL 15 image (Debian bookworm’s major) with init.sql as an initialisation script', () => {
    assert.equal(stages.length, 1);
    assert.match(stages[0]!.base, /^postgres:15(\.[0-9]+)?(-bookworm)?$/);
    const copy = copiedTo(stages[0]!).find((c) => c.sources.includes('init.sql'));
    assert.ok(copy, 'init.sql is not copied');
    assert.match(copy.dest, /^\/docker-entrypoint-initdb\.d\/[^/]+\.sql$/);
    assert.equal(b.context, 'docker');
    assert.deepEqual(
      filesBelow(repoPath('docker')).filter((f) => f.endsWith('.sql')),
      ['init.sql'],
    );
  });
});

describe('the backend runs with one set of node flags wherever it is started', () => {
  /** The arguments between the `node` that starts `file` and the file. */
  const flagsBefore = (command: string[], file: string): string[] => {
    const at = command.indexOf(file);
    return command.slice(command.lastIndexOf('node', at) + 1, at);
  };

  test("the image's CMD, npm start (root and backend) and the tests' backends: node-flags.ts", () => {
    const app = dockerStages('docker/Dockerfile.app').at(-1)!;
    const cmd = execForm(app.instructions.filter((i) => i.keyword === 'CMD').at(-1)!.args);
    assert.deepEqual(flagsBefore(cmd, 'backend/dist/src/main.js'), BACKEND_NODE_FLAGS, 'docker/Dockerfile.app CMD');
    const root = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts['start:here']!;
    assert.deepEqual(flagsBefore(root.split(/\s+/), 'backend/dist/src/main.js'), BACKEND_NODE_FLAGS, 'package.json start:here');
    const backend = (JSON.parse(readRepoFile('backend/package.json')) as { scripts: Record<string, string> }).scripts.start!;
    assert.deepEqual(flagsBefore(backend.split(/\s+/), 'dist/src/main.js'), BACKEND_NODE_FLAGS, 'backend/package.json start');
    const support = readRepoFile('backend/test/support/backend.ts');
    assert.equal((support.match(/\.\.\.BACKEND_NODE_FLAGS, MAIN_JS/g) ?? []).length, 2, 'spawnBackend passes them, in and out of a cgroup');
  });
});
