#!/usr/bin/env node
// What `npm start` needs, built in seconds: the backend and its runtime
// workspace transpiled file by file by esbuild into the same dist/ layout tsc
// writes (backend/dist/src, backend/runtime/dist/src), then the web page
// (desktop's build-renderer.mjs, esbuild as well).
// Why not `tsc -b`: a cold `tsc -b` of the whole tree (tests, benches, the
// desktop) is 26 s on a quiet 2-core machine and 80-90 s on a busy one, with
// nothing printed, before the first page is served. Type-checking is not lost:
// `npm test`, `npm run build`, `npm run typecheck` and CI run `tsc -b`, which
// overwrites these files with its own. Transpiling alone is safe here because
// tsconfig.base.json sets isolatedModules and verbatimModuleSyntax: every file
// compiles on its own, imports kept as written.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// esbuild is the desktop workspace's build tool; resolved from there, not from wherever npm hoisted it.
const esbuild = createRequire(path.join(root, 'desktop', 'package.json'))('esbuild');

/** Every TypeScript source file under dir (declaration files have no output). */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

const started = Date.now();
const workspaces = ['backend/runtime', 'backend'];
console.log(`==> building ${workspaces.join(' and ')} for npm start (esbuild, a few seconds; tsc's type-check runs in npm test and npm run typecheck)`);
for (const ws of workspaces) {
  const src = path.join(root, ws, 'src');
  const entryPoints = sources(src);
  await esbuild.build({
    entryPoints,
    outbase: src,
    outdir: path.join(root, ws, 'dist', 'src'),
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    sourcemap: true,
    tsconfig: path.join(root, ws, 'tsconfig.json'),
    logLevel: 'warning',
  });
  console.log(`    ${ws}: ${entryPoints.length} files`);
}
console.log('==> building the web page (desktop/scripts/build-renderer.mjs)');
const renderer = spawnSync(process.execPath, [path.join(root, 'desktop', 'scripts', 'build-renderer.mjs')], {
  cwd: path.join(root, 'desktop'),
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (renderer.status !== 0) process.exit(renderer.status ?? 1);
console.log(`==> built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
