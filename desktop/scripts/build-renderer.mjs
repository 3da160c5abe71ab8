#!/usr/bin/env node
// Builds what tsc does not:
// - the renderer: the main window and the metrics window bundled by esbuild
//   (ESM, chart.js included, hashed `[name]-[hash]` file names) into
//   dist/renderer/, with the HTML pages written around them, each carrying a
//   strict Content-Security-Policy. Two flavours of each page share the same
//   bundles: desktop*.html for Electron (connect-src 'none': the page talks
//   only over IPC) and index.html/metrics.html for browsers, which the backend
//   serves at `/` (connect-src 'self': fetch, XHR and EventSource to it);
// - the preload, as CommonJS (dist/preload/preload.cjs): sandboxed preloads
//   cannot be ES modules;
// - the main process as one CommonJS file for packaging (dist/app/main.cjs),
//   so the packaged app needs only sharp (native) from node_modules;
// - the app icon (dist/build-resources/icon.png), rendered from icon.svg.
// Run after `tsc -b` (from the root: npm run build).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const desktop = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(desktop, 'src');
const dist = path.join(desktop, 'dist');
const rendererOut = path.join(dist, 'renderer');
const production = process.env.NODE_ENV !== 'development';

/** The page's policy. Exported shape is checked by desktop/test/main/security.test.ts. */
export function contentSecurityPolicy(flavour) {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    flavour === 'desktop' ? "connect-src 'none'" : "connect-src 'self'",
    "media-src 'none'",
    "worker-src 'none'",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const PAGES = [
  { entry: 'app', template: 'app.html', outputs: { desktop: 'desktop.html', web: 'index.html' } },
  { entry: 'metrics', template: 'metrics.html', outputs: { desktop: 'desktop-metrics.html', web: 'metrics.html' } },
];

async function buildRenderer() {
  await rm(rendererOut, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: desktop,
    entryPoints: { app: path.join(src, 'renderer/app/main.ts'), metrics: path.join(src, 'renderer/metrics/main.ts') },
    outdir: rendererOut,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    // Electron 45 is Chromium 140; browsers from the last two years.
    target: ['chrome110', 'firefox115', 'safari16'],
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    minify: production,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    tsconfig: path.join(src, 'renderer/tsconfig.json'),
    logLevel: 'warning',
  });

  for (const page of PAGES) {
    const entryPath = path.join(src, `renderer/${page.entry}/main.ts`);
    const [jsFile, meta] =
      Object.entries(result.metafile.outputs).find(([, out]) => out.entryPoint && path.resolve(desktop, out.entryPoint) === entryPath) ?? [];
    if (!jsFile) throw new Error(`esbuild produced no bundle for ${page.entry}`);
    const rel = (file) => path.relative(rendererOut, path.resolve(desktop, file)).split(path.sep).join('/');
    const styles = meta.cssBundle ? `<link rel="stylesheet" href="${rel(meta.cssBundle)}">` : '';
    // Chunks shared by both pages are preloaded so the entry does not wait for them one by one.
    const preloads = meta.imports
      .filter((i) => i.kind === 'import-statement' && i.path.endsWith('.js'))
      .map((i) => `<link rel="modulepreload" href="${rel(i.path)}">`)
      .join('\n  ');
    const template = await readFile(path.join(src, 'renderer/pages', page.template), 'utf8');
    for (const [flavour, name] of Object.entries(page.outputs)) {
      const html = template
        .replace('%CSP%', contentSecurityPolicy(flavour))
        .replace('%STYLES%', [styles, preloads].filter(Boolean).join('\n  '))
        .replace('%SCRIPTS%', `<script type="module" src="${rel(jsFile)}"></script>`);
      if (/%[A-Z]+%/.test(html)) throw new Error(`${page.template}: unfilled placeholder`);
      await writeFile(path.join(rendererOut, name), html);
    }
  }
  return Object.keys(result.metafile.outputs).map((f) => path.relative(desktop, f));
}

async function buildPreload() {
  const outfile = path.join(dist, 'preload', 'preload.cjs');
  await esbuild.build({
    absWorkingDir: desktop,
    entryPoints: [path.join(src, 'preload/preload.ts')],
    outfile,
    bundle: true,
    format: 'cjs',
    // A sandboxed preload may only require('electron') (and a few polyfilled modules): bundle the rest.
    platform: 'browser',
    external: ['electron'],
    target: 'chrome120',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return [path.relative(desktop, outfile)];
}

async function buildPackagedMain() {
  const outfile = path.join(dist, 'app', 'main.cjs');
  await esbuild.build({
    absWorkingDir: desktop,
    // The HEIF decoder's thread (backend/src/imaging/heif-thread.ts) loads heif-worker.cjs from beside main.cjs.
    entryPoints: { main: path.join(src, 'main/electron-main.ts'), 'heif-worker': path.join(desktop, '../backend/src/imaging/heif-worker.ts') },
    outdir: path.dirname(outfile),
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    // sharp is native (asarUnpack'ed); electron is provided by the runtime; libheif-js
    // (HEIC) reads its .wasm from its own folder, so it stays in node_modules too.
    external: ['electron', 'sharp', 'libheif-js'],
    sourcemap: 'linked',
    minify: production,
    logLevel: 'warning',
    // heif-decode.ts takes import.meta only where CommonJS' require is missing, never in this bundle.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  return [path.relative(desktop, outfile), path.relative(desktop, path.join(path.dirname(outfile), 'heif-worker.cjs'))];
}

async function buildIcon() {
  const { default: sharp } = await import('sharp');
  const out = path.join(dist, 'build-resources');
  await mkdir(out, { recursive: true });
  const svg = await readFile(path.join(desktop, 'scripts', 'icon.svg'));
  const files = [];
  for (const size of [512, 256]) {
    const file = path.join(out, size === 512 ? 'icon.png' : `icon-${size}.png`);
    await writeFile(
      file,
      await sharp(svg, { density: 72 * (size / 512) * 2 })
        .resize(size, size)
        .png()
        .toBuffer(),
    );
    files.push(path.relative(desktop, file));
  }
  return files;
}

const started = Date.now();
const outputs = (await Promise.all([buildRenderer(), buildPreload(), buildPackagedMain(), buildIcon()])).flat();
const digest = createHash('sha256').update(outputs.sort().join('\n')).digest('hex').slice(0, 8);
console.log(`desktop build: ${outputs.length} files in ${Date.now() - started} ms (${digest})`);
for (const file of outputs.filter((f) => !f.endsWith('.map'))) console.log(`  ${file}`);
