import { DEFAULT_OUTPUT_OPTIONS } from '@imgfleet/backend/contract/output-options';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/main/services/app-error.js';
import { DEFAULT_SETTINGS, SETTINGS_FILE_NAME, SettingsStore } from '../../src/main/services/settings-store.js';
import { removeDir, tempDir } from '../support/paths.js';

describe('settings store', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('settings');
  });
  after(() => removeDir(dir));

  const fresh = async (): Promise<string> => fs.mkdtemp(path.join(dir, 'case-'));

  it('starts from the documented defaults when there is no file', async () => {
    const store = await SettingsStore.open(await fresh());
    assert.deepEqual(store.get(), {
      backendUrl: 'http://127.0.0.1:8080',
      apiToken: '',
      outputFolder: '',
      namingTemplate: '{name}_{width}x{height}.jpg',
      uploadConcurrency: 4,
      outputOptions: { ...DEFAULT_OUTPUT_OPTIONS },
      keepDates: true,
      watchFolder: '',
      watchMode: 'upload',
    });
    assert.deepEqual(store.loadProblems, []);
  });

  it('persists changes atomically and reads them back', async () => {
    const folder = await fresh();
    const store = await SettingsStore.open(folder);
    const seen: string[] = [];
    store.onChange((next, previous) => seen.push(`${previous.backendUrl} -> ${next.backendUrl}`));
    await store.update({ backendUrl: 'https://cluster.example:8443/', apiToken: 's3cret', uploadConcurrency: 8 });
    await store.update({ namingTemplate: '{id}-{name}.jpg', outputFolder: path.join(folder, 'out') });

    const onDisk = JSON.parse(await fs.readFile(path.join(folder, SETTINGS_FILE_NAME), 'utf8')) as Record<string, unknown>;
    assert.equal(onDisk.backendUrl, 'https://cluster.example:8443', 'trailing slash removed');
    assert.equal(onDisk.apiToken, 's3cret');
    assert.equal(onDisk.uploadConcurrency, 8);
    assert.equal(onDisk.namingTemplate, '{id}-{name}.jpg');
    assert.deepEqual(seen, ['http://127.0.0.1:8080 -> https://cluster.example:8443', 'https://cluster.example:8443 -> https://cluster.example:8443']);
    // No temporary files left behind by the rename.
    assert.deepEqual(await fs.readdir(folder), [SETTINGS_FILE_NAME]);

    const reopened = await SettingsStore.open(folder);
    assert.deepEqual(reopened.get(), store.get());
    if (process.platform !== 'win32') {
      const mode = (await fs.stat(path.join(folder, SETTINGS_FILE_NAME))).mode & 0o777;
      assert.equal(mode, 0o600, 'the file holds the API token: owner-only');
    }
  });

  it('rejects invalid values with INVALID_SETTINGS and keeps the old ones', async () => {
    const folder = await fresh();
    const store = await SettingsStore.open(folder);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['not a URL', { backendUrl: 'not a url' }, /backendUrl/],
      ['ftp URL', { backendUrl: 'ftp://example.com' }, /backendUrl/],
      ['zero concurrency', { uploadConcurrency: 0 }, /uploadConcurrency/],
      ['fractional concurrency', { uploadConcurrency: 2.5 }, /uploadConcurrency/],
      ['too much concurrency', { uploadConcurrency: 17 }, /uploadConcurrency/],
      ['unknown token', { namingTemplate: '{name}_{date}.jpg' }, /unknown token \{date\}/],
      ['path in template', { namingTemplate: '../{name}.jpg' }, /may not contain/],
      ['template without name or id', { namingTemplate: '{width}.jpg' }, /\{name\} or \{id\}/],
      ['relative output folder', { outputFolder: 'relative/dir' }, /absolute/],
      ['unknown field', { colour: 'blue' }, /Unrecognized key/i],
    ];
    for (const [label, patch, message] of cases) {
      await assert.rejects(
        store.update(patch),
        (err: unknown) => err instanceof AppError && err.code === 'INVALID_SETTINGS' && message.test(err.message),
        label,
      );
    }
    assert.deepEqual(store.get(), DEFAULT_SETTINGS);
    await assert.rejects(fs.access(path.join(folder, SETTINGS_FILE_NAME)), 'nothing was written');
  });

  it('recovers from a damaged file: bad fields fall back, good ones stay', async () => {
    const folder = await fresh();
    const file = path.join(folder, SETTINGS_FILE_NAME);
    await fs.writeFile(file, JSON.stringify({ backendUrl: 'http://10.0.0.5:30080', uploadConcurrency: 'many', namingTemplate: '{nope}' }));
    const store = await SettingsStore.open(folder);
    assert.equal(store.get().backendUrl, 'http://10.0.0.5:30080');
    assert.equal(store.get().uploadConcurrency, 4);
    assert.equal(store.get().namingTemplate, DEFAULT_SETTINGS.namingTemplate);
    assert.equal(store.loadProblems.length, 2);

    await fs.writeFile(file, '{"backendUrl": "http://half-writ');
    const broken = await SettingsStore.open(folder);
    assert.deepEqual(broken.get(), DEFAULT_SETTINGS);
    assert.match(broken.loadProblems[0] ?? '', /not valid JSON/);
  });

  it('keeps updates in order when they overlap', async () => {
    const folder = await fresh();
    const store = await SettingsStore.open(folder);
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => store.update({ uploadConcurrency: n })));
    const onDisk = JSON.parse(await fs.readFile(path.join(folder, SETTINGS_FILE_NAME), 'utf8')) as Record<string, unknown>;
    assert.equal(onDisk.uploadConcurrency, 6);
    assert.equal(store.get().uploadConcurrency, 6);
  });
});
