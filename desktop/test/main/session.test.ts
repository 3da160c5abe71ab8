/**
 * The desktop's last session, in the main process, without Electron: it
 * remembers a path only when a scan returned that file (a page cannot
 * make the next run read a file nobody chose), and after a restart (new
 * handlers on the same user data folder) it links again, and lets be read
 * again, only the files still there with the size they had. A damaged
 * session file is no session, never a crash.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IpcSender } from '../../src/shared/ipc-contract.js';
import { createMainHandlers, type MainHandlers } from '../../src/main/handlers.js';
import { dispatch, receive } from '../../src/main/ipc-dispatch.js';
import { SESSION_FILE_NAME, SessionStore } from '../../src/main/services/session-store.js';
import { SettingsStore } from '../../src/main/services/settings-store.js';
import { writePhotos } from '../support/fixtures.js';
import { removeDir, tempDir } from '../support/paths.js';

const BATCH = '0b9e1c52-5f0a-4d7e-9b1c-3a2f4e5d6c7b';

const sender: IpcSender = { id: 1, url: 'file:///app/desktop.html', send: () => undefined, onClosed: () => undefined };

describe('the last session (main process)', () => {
  let dir: string;
  let photos: string[];
  let secret: string;

  const handlers = async (): Promise<MainHandlers> =>
    createMainHandlers({
      settings: await SettingsStore.open(dir),
      session: SessionStore.in(dir),
      dialogs: { pickPaths: async () => null, chooseFolder: async () => null },
      openFolder: async () => undefined,
      notify: () => undefined,
      openMetricsWindow: () => undefined,
    });

  before(async () => {
    dir = await tempDir('session');
    photos = await writePhotos(path.join(dir, 'album'), [
      { name: 'kept.jpg', width: 300, height: 200 },
      { name: 'gone.jpg', width: 300, height: 200 },
      { name: 'grown.jpg', width: 300, height: 200 },
    ]);
    secret = path.join(dir, 'secret.txt');
    await fs.writeFile(secret, 'not for the page');
  });
  after(async () => {
    await removeDir(dir);
  });

  it('remembers the paths of scanned files only, then after a restart links again what is still there', async () => {
    const first = await handlers();
    receive(first.listeners, 'drop:paths', sender, { paths: [path.join(dir, 'album')] });
    const scan = await dispatch(first.handlers, 'files:scan', sender, { paths: [path.join(dir, 'album')] });
    assert.ok(scan.ok);
    const files = scan.value.files.map((f, i) => ({ key: f.path, name: f.name, size: f.size, path: f.path, id: i === 0 ? 41 : null }));
    const forged = { key: secret, name: 'secret.txt', size: 16, path: secret, id: null };
    const saved = await dispatch(first.handlers, 'session:save', sender, { batch: { batchId: BATCH, files: [...files, forged] } });
    assert.deepEqual(saved, { ok: true, value: { files: 4, linked: 3 } }, 'the path no scan returned is not remembered');
    const onDisk = JSON.parse(await fs.readFile(path.join(dir, SESSION_FILE_NAME), 'utf8')) as { files: { name: string; path?: string }[] };
    assert.equal(onDisk.files.find((f) => f.name === 'secret.txt')?.path, undefined);
    first.dispose();

    await fs.rm(photos[1]!);
    await fs.appendFile(photos[2]!, 'x');
    const second = await handlers();
    // Before the restore nothing is readable: this process scanned nothing.
    assert.equal((await dispatch(second.handlers, 'preview:make', sender, { path: photos[0]! })).ok, false);
    const restored = await dispatch(second.handlers, 'session:restore', sender, {});
    assert.ok(restored.ok && restored.value);
    assert.equal(restored.value.batchId, BATCH);
    const byName = [...restored.value.files].sort((a, b) => a.name.localeCompare(b.name)).map((f) => [f.name, f.present]);
    assert.deepEqual(byName, [
      ['gone.jpg', false],
      ['grown.jpg', false],
      ['kept.jpg', true],
      ['secret.txt', false],
    ]);
    assert.equal(restored.value.files.filter((f) => f.id === 41).length, 1, 'the backend ids come back');
    const preview = await dispatch(second.handlers, 'preview:make', sender, { path: photos[0]! });
    assert.ok(preview.ok && preview.value.ok, 'linked again: readable again');
    assert.equal((await dispatch(second.handlers, 'preview:make', sender, { path: photos[2]! })).ok, false, 'changed since: not the same file');
    assert.equal((await dispatch(second.handlers, 'preview:make', sender, { path: secret })).ok, false);
    second.dispose();
  });

  it('treats a damaged session file as no session', async () => {
    await fs.writeFile(path.join(dir, SESSION_FILE_NAME), '{"batchId": "not a uuid", "files": 7');
    const main = await handlers();
    assert.deepEqual(await dispatch(main.handlers, 'session:restore', sender, {}), { ok: true, value: null });
    await fs.writeFile(path.join(dir, SESSION_FILE_NAME), JSON.stringify({ batchId: BATCH, files: [{ key: 'k', name: 'n', size: -1, id: null }] }));
    assert.deepEqual(await dispatch(main.handlers, 'session:restore', sender, {}), { ok: true, value: null });
    main.dispose();
  });

  it('refuses a session the page makes up: not a batch id, too many files, unknown fields', async () => {
    const main = await handlers();
    for (const batch of [
      { batchId: 'nope', files: [] },
      { batchId: BATCH, files: Array.from({ length: 10_001 }, (_, i) => ({ key: `k${i}`, name: 'n', size: 1, id: null })) },
      { batchId: BATCH, files: [{ key: 'k', name: 'n', size: 1, id: null, run: 'rm -rf' }] },
    ]) {
      const answer = await dispatch(main.handlers, 'session:save', sender, { batch });
      assert.equal(answer.ok ? 'saved' : answer.error.code, 'INVALID_ARGUMENTS');
    }
    main.dispose();
  });
});
