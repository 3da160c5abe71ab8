/**
 * What electron-builder will package, checked offline (packaging itself
 * downloads Electron): the config is valid for electron-builder's own
 * schema, names the files the build makes, unpacks sharp from the asar, and
 * the bundled main process needs no module the package leaves out.
 */
import assert from 'node:assert/strict';
import { builtinModules, createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import sharp from 'sharp';
import YAML from 'yaml';
import { DESKTOP_DIR, REPO_DIR } from '../support/paths.js';

interface BuilderConfig {
  appId: string;
  productName: string;
  extraMetadata: { main: string };
  files: string[];
  asarUnpack: string[];
  linux: { target: string[]; icon: string };
  win: { target: string[] };
  mac: { target: string[] };
  directories: { output: string; buildResources: string };
}

async function config(): Promise<BuilderConfig> {
  return YAML.parse(await fs.readFile(path.join(DESKTOP_DIR, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
}

describe('packaging', () => {
  it("is a valid electron-builder configuration with the product's identity and targets", async () => {
    const require = createRequire(path.join(REPO_DIR, 'package.json'));
    const schema = JSON.parse(await fs.readFile(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const cfg = await config();
    assert.ok(validate(cfg), JSON.stringify(validate.errors));
    assert.equal(cfg.appId, 'io.imgfleet.desktop');
    assert.equal(cfg.productName, 'imgfleet');
    assert.deepEqual(cfg.linux.target, ['AppImage', 'deb']);
    assert.deepEqual(cfg.win.target, ['nsis']);
    assert.deepEqual(cfg.mac.target, ['dmg']);
    assert.deepEqual(cfg.asarUnpack, ['**/node_modules/sharp/**', '**/node_modules/@img/**']);
    assert.equal(cfg.directories.output, 'release', 'desktop/release/ is git-ignored');
  });

  it('lists files the build produces', async () => {
    const cfg = await config();
    const literal = cfg.files.filter((f) => !/[*!]/.test(f));
    for (const file of [...literal, cfg.extraMetadata.main, cfg.linux.icon]) {
      await fs.access(path.join(DESKTOP_DIR, file));
    }
    const icon = await sharp(path.join(DESKTOP_DIR, cfg.linux.icon)).metadata();
    assert.deepEqual([icon.format, icon.width, icon.height], ['png', 512, 512]);
    const pages = await fs.readdir(path.join(DESKTOP_DIR, 'dist', 'renderer'));
    for (const page of ['desktop.html', 'desktop-metrics.html', 'index.html', 'metrics.html']) assert.ok(pages.includes(page), page);
  });

  it('the bundled main process needs only Node, electron and the packaged node_modules', async () => {
    const cfg = await config();
    const code = await fs.readFile(path.join(DESKTOP_DIR, cfg.extraMetadata.main), 'utf8');
    const required = new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const packaged = cfg.files.map((f) => /^node_modules\/((?:@[^/]+\/)?[^/*]+)/.exec(f)?.[1]).filter((m): m is string => Boolean(m));
    const outside = [...required].filter((m) => !builtins.has(m) && m !== 'electron' && !packaged.some((p) => m === p || m.startsWith(`${p}/`)));
    assert.deepEqual(outside, []);
    assert.ok(required.has('sharp') && required.has('electron'));
    // sharp's own dependencies are packaged too.
    const sharpPackage = JSON.parse(await fs.readFile(path.join(REPO_DIR, 'node_modules', 'sharp', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(sharpPackage.dependencies)) {
      assert.ok(
        packaged.some((p) => dep === p || (p.startsWith('@') && dep.startsWith(`${p}/`))),
        `${dep} is packaged`,
      );
    }
  });
});
