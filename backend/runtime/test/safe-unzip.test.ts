import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FunctionError } from '../src/errors.js';
import { prepareFunction } from '../src/function-source.js';
import { extractZip } from '../src/safe-unzip.js';
import { makeZip } from './support/zip.js';
import type { ZipEntrySpec } from './support/zip.js';

const LIMITS = { maxBytes: 1024 * 1024, maxEntries: 100 };

describe('safe ZIP extraction', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-unzip-test-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  let n = 0;
  /** A zip in its own folder, and an empty `out` folder beside it to extract into. */
  async function setup(entries: ZipEntrySpec[]): Promise<{ zip: string; out: string; parent: string }> {
    const parent = path.join(base, `case-${n++}`);
    const out = path.join(parent, 'out');
    await mkdir(out, { recursive: true });
    const zip = path.join(parent, 'function.zip');
    await writeFile(zip, makeZip(entries));
    return { zip, out, parent };
  }

  async function refused(entries: ZipEntrySpec[], message: RegExp, limits = LIMITS): Promise<string> {
    const { zip, out, parent } = await setup(entries);
    await assert.rejects(
      extractZip(zip, out, limits),
      (err: unknown) => err instanceof FunctionError && err.kind === 'unsafe_archive' && message.test(err.message),
    );
    return parent;
  }

  test('extracts folders and files, stored and deflated', async () => {
    const { zip, out } = await setup([
      { name: 'pkg/', directory: true },
      { name: 'pkg/__init__.py', data: '' },
      { name: 'pkg/util.py', data: 'X = 1\n', deflate: true },
      { name: 'main.py', data: 'from pkg.util import X\n' },
    ]);
    const result = await extractZip(zip, out, LIMITS);
    assert.deepEqual(result.files.sort(), ['main.py', 'pkg/__init__.py', 'pkg/util.py']);
    assert.equal(await readFile(path.join(out, 'pkg/util.py'), 'utf8'), 'X = 1\n');
  });

  test('refuses an entry escaping the folder with ../ (zip-slip) and writes nothing outside', async () => {
    const parent = await refused(
      [
        { name: 'main.py', data: 'ok' },
        { name: '../evil.py', data: 'import os' },
      ],
      /"\.\.\/evil\.py" escapes the target folder/,
    );
    assert.equal(existsSync(path.join(parent, 'evil.py')), false);
  });

  test('refuses a ../ hidden in the middle of a path, and backslash separators', async () => {
    await refused([{ name: 'a/../../evil.py', data: 'x' }], /escapes the target folder/);
    await refused([{ name: 'a\\..\\..\\evil.py', data: 'x' }], /escapes the target folder/);
  });

  test('refuses absolute paths', async () => {
    await refused([{ name: '/tmp/evil.py', data: 'x' }], /absolute path/);
    await refused([{ name: 'C:/evil.py', data: 'x' }], /absolute path/);
  });

  test('refuses symbolic links', async () => {
    const parent = await refused(
      [
        { name: 'link', symlinkTo: '/etc' },
        { name: 'link/passwd', data: 'x' },
      ],
      /"link" is a symbolic link/,
    );
    assert.deepEqual(await readdir(path.join(parent, 'out')), []);
  });

  test('refuses archives with more entries than the limit', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ name: `m${i}.py`, data: '' }));
    await refused(entries, /11 entries, more than the limit of 10/, { maxBytes: LIMITS.maxBytes, maxEntries: 10 });
  });

  test('refuses archives whose uncompressed size is over the limit (a zip bomb compresses well)', async () => {
    const { zip } = await setup([{ name: 'bomb.bin', data: Buffer.alloc(2 * 1024 * 1024), deflate: true }]);
    assert.ok((await readFile(zip)).length < 20_000, 'the archive itself is small');
    await refused([{ name: 'bomb.bin', data: Buffer.alloc(2 * 1024 * 1024), deflate: true }], /exceeds the limit of 1048576 bytes/);
  });

  test('refuses duplicate entries', async () => {
    await refused(
      [
        { name: 'main.py', data: 'a' },
        { name: './main.py', data: 'b' },
      ],
      /appears twice/,
    );
  });

  test('a file that is not a ZIP is a load error, not a crash', async () => {
    const file = path.join(base, 'not-a.zip');
    await writeFile(file, 'this is not a zip file at all, just text');
    const out = path.join(base, 'not-a-zip-out');
    await mkdir(out);
    await assert.rejects(extractZip(file, out, LIMITS), (err: unknown) => err instanceof FunctionError && err.kind === 'load');
  });

  test('prepareFunction finds the module inside a single top folder and cleans up its temp folder', async () => {
    const { zip } = await setup([
      { name: 'myfunc/main.py', data: 'def handler(i, c):\n    return 1\n' },
      { name: 'myfunc/helpers.py', data: '' },
    ]);
    const prepared = await prepareFunction({ functionPath: zip, handlerFunction: 'main.handler', zipLimits: LIMITS });
    assert.equal(prepared.target.language, 'python');
    assert.equal(prepared.target.module, 'main');
    assert.equal(prepared.target.functionName, 'handler');
    assert.equal(path.basename(prepared.target.root), 'myfunc');
    assert.equal(prepared.watchPath, zip);
    assert.ok(existsSync(prepared.target.file));
    await prepared.dispose();
    assert.equal(existsSync(prepared.target.file), false);
  });

  test('prepareFunction names the modules it found when HANDLER_FUNCTION points nowhere', async () => {
    const { zip } = await setup([
      { name: 'a.py', data: '' },
      { name: 'b.mjs', data: '' },
    ]);
    await assert.rejects(
      prepareFunction({ functionPath: zip, handlerFunction: 'main.handler', zipLimits: LIMITS }),
      (err: unknown) => err instanceof FunctionError && err.kind === 'load' && err.message.includes('"main" not found (modules there: a, b)'),
    );
  });
});
