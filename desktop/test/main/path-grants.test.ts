/**
 * The main side of the drop check, without Electron: 'files:scan' reads only
 * paths the preload reported from a real drop on that same window (or the
 * main process's own dialog returned), each once and for a minute; and the
 * preload reports only trusted drops' real files.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IpcSender } from '../../src/shared/ipc-contract.js';
import { createMainHandlers, type MainHandlers } from '../../src/main/handlers.js';
import { dispatch, receive } from '../../src/main/ipc-dispatch.js';
import { GRANT_TTL_MS, createPathGrants } from '../../src/main/path-grants.js';
import { SessionStore } from '../../src/main/services/session-store.js';
import { SettingsStore } from '../../src/main/services/settings-store.js';
import { droppedPaths } from '../../src/preload/drop-capture.js';
import { removeDir, tempDir } from '../support/paths.js';

function fakeSender(id: number): IpcSender & { close(): void } {
  const closed: (() => void)[] = [];
  return {
    id,
    url: 'file:///app/desktop.html',
    send: () => undefined,
    onClosed: (listener) => closed.push(listener),
    close: () => closed.splice(0).forEach((l) => l()),
  };
}

const refusedCode = (run: () => unknown): string => {
  try {
    run();
    return 'accepted';
  } catch (err) {
    return (err as { code?: string }).code ?? 'thrown';
  }
};

describe('path grants', () => {
  it('accepts a dropped path once, for the window it was dropped on, within the time limit', () => {
    let clock = 1_000;
    const grants = createPathGrants({ now: () => clock });
    grants.grant(1, ['/photos/album', '/photos/loose.jpg']);

    assert.equal(
      refusedCode(() => grants.claim(2, ['/photos/album'])),
      'FORBIDDEN_PATH',
      'another window',
    );
    assert.equal(
      refusedCode(() => grants.claim(1, ['/etc'])),
      'FORBIDDEN_PATH',
    );
    assert.equal(
      refusedCode(() => grants.claim(1, ['/photos/private'])),
      'FORBIDDEN_PATH',
      'a sibling',
    );
    assert.equal(
      refusedCode(() => grants.claim(1, ['/photos'])),
      'FORBIDDEN_PATH',
      'the parent',
    );
    assert.equal(
      refusedCode(() => grants.claim(1, ['/photos/album', '/etc'])),
      'FORBIDDEN_PATH',
      'one bad path refuses all',
    );

    // Normalised before comparing; the refused requests above used nothing up.
    assert.deepEqual(grants.claim(1, ['/photos/album/', '/photos/x/../album']), ['/photos/album', '/photos/album']);
    assert.equal(
      refusedCode(() => grants.claim(1, ['/photos/album'])),
      'FORBIDDEN_PATH',
      'used up',
    );

    clock += GRANT_TTL_MS;
    assert.equal(
      refusedCode(() => grants.claim(1, ['/photos/loose.jpg'])),
      'FORBIDDEN_PATH',
      'expired',
    );
  });

  it("forgets a window's grants", () => {
    const grants = createPathGrants();
    grants.grant(7, ['/a']);
    grants.forget(7);
    assert.equal(
      refusedCode(() => grants.claim(7, ['/a'])),
      'FORBIDDEN_PATH',
    );
  });
});

describe('files:scan behind the drop check', () => {
  let dir: string;
  let album: string;
  let sibling: string;
  let main: MainHandlers;
  let settings: SettingsStore;
  const picks: (string[] | null)[] = [];

  before(async () => {
    dir = await tempDir('grants');
    album = path.join(dir, 'album');
    sibling = path.join(dir, 'private');
    for (const folder of [album, sibling]) {
      await fs.mkdir(folder);
      await fs.writeFile(path.join(folder, `${path.basename(folder)}.jpg`), 'not really a JPEG; the scan only looks at names');
    }
    settings = await SettingsStore.open(dir);
    main = createMainHandlers({
      settings,
      session: SessionStore.in(dir),
      dialogs: { pickPaths: async () => picks.shift() ?? null, chooseFolder: async () => null },
      openFolder: async () => undefined,
      notify: () => undefined,
      openMetricsWindow: () => undefined,
    });
  });
  after(async () => {
    main.dispose();
    await removeDir(dir);
  });

  const scan = async (sender: IpcSender, paths: string[]): Promise<string> => {
    const result = await dispatch(main.handlers, 'files:scan', sender, { paths });
    return result.ok ? result.value.files.map((f) => f.name).join(',') : result.error.code;
  };

  it('scans what the preload reported for that window, once; refuses the rest', async () => {
    const a = fakeSender(101);
    const b = fakeSender(102);
    assert.equal(await scan(a, [album]), 'FORBIDDEN_PATH', 'nothing dropped yet');
    assert.equal(receive(main.listeners, 'drop:paths', a, { paths: [album] }), null);
    assert.equal(await scan(b, [album]), 'FORBIDDEN_PATH', 'dropped on another window');
    assert.equal(await scan(a, ['/etc']), 'FORBIDDEN_PATH');
    assert.equal(await scan(a, [sibling]), 'FORBIDDEN_PATH', 'a sibling of the dropped folder');
    assert.equal(await scan(a, [album]), 'album.jpg');
    assert.equal(await scan(a, [album]), 'FORBIDDEN_PATH', 'used up');

    // The window goes away: its unused grants go with it.
    assert.equal(receive(main.listeners, 'drop:paths', a, { paths: [sibling] }), null);
    a.close();
    assert.equal(await scan(a, [sibling]), 'FORBIDDEN_PATH');
  });

  it("validates the preload's messages like requests", () => {
    const a = fakeSender(103);
    assert.equal(receive(main.listeners, 'drop:paths', a, { paths: [] })?.code, 'INVALID_ARGUMENTS');
    assert.equal(receive(main.listeners, 'drop:paths', a, { paths: [album], extra: 1 })?.code, 'INVALID_ARGUMENTS');
    assert.equal(receive(main.listeners, 'files:scan', a, { paths: [album] })?.code, 'UNKNOWN_CHANNEL', 'requests are not messages');
  });

  it('accepts what its own dialog picked', async () => {
    const a = fakeSender(104);
    picks.push([sibling]);
    const picked = await dispatch(main.handlers, 'files:pick', a, { folders: true });
    assert.deepEqual(picked.ok ? picked.value?.files.map((f) => f.name) : picked, ['private.jpg']);
  });
});

describe("the preload's drop capture", () => {
  const file = (name: string): File => ({ name }) as File;
  const drop = (isTrusted: boolean, names: string[]): DragEvent => ({ isTrusted, dataTransfer: { files: names.map(file) } }) as unknown as DragEvent;
  const known: Record<string, string> = { album: '/photos/album', 'a.jpg': '/photos/a.jpg' };
  const pathForFile = (f: File): string => known[f.name] ?? '';

  it('reports the disk paths of a trusted drop, skipping files made in script', () => {
    assert.deepEqual(droppedPaths(drop(true, ['album', 'made-in-js.jpg', 'a.jpg', 'album']), pathForFile), ['/photos/album', '/photos/a.jpg']);
  });

  it('reports nothing for a drop the page dispatched itself', () => {
    assert.deepEqual(droppedPaths(drop(false, ['album']), pathForFile), []);
  });
});
