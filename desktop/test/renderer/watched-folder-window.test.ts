/**
 * The watched folder in the desktop harness: chosen in the settings
 * dialog (the host's folder dialog), a photo copied in is uploaded to the
 * real backend and its result saved, once; after a restart of the app over
 * the same user data it is recognised and not processed again. Waits are
 * on the watcher's events.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WatchEvent } from '../../src/main/services/folder-watcher.js';
import { AppHarness } from '../support/app-harness.js';
import { images } from '../support/backend-support.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

class Events {
  readonly all: WatchEvent[] = [];
  private readonly waiters: { match: (e: WatchEvent) => boolean; resolve: (e: WatchEvent) => void }[] = [];
  push = (event: WatchEvent): void => {
    this.all.push(event);
    for (const w of [...this.waiters]) {
      if (!w.match(event)) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(event);
    }
  };
  next(match: (e: WatchEvent) => boolean): Promise<WatchEvent> {
    const seen = this.all.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

describe('watched folder in the desktop app', () => {
  let backend: TestBackend;
  let work: string;
  let userData: string;
  let inbox: string;
  let output: string;

  before(async () => {
    work = await tempDir('watch-window');
    userData = path.join(work, 'user');
    inbox = path.join(work, 'inbox');
    output = path.join(work, 'out');
    await fs.mkdir(inbox, { recursive: true });
    backend = await startTestBackend({ POD_NAME: 'watch-window' });
  });
  after(async () => {
    await backend?.stop();
    await removeDir(work);
  });

  it('processes a photo copied in once, and not again after a restart', async () => {
    const events = new Events();
    const harness = await AppHarness.start({
      userData,
      settings: { backendUrl: backend.url, outputFolder: output },
      deps: { watchSettleMs: 150, onWatchEvent: events.push },
    });
    const target = path.join(inbox, 'harbour.jpg');
    try {
      const page = await harness.openMainWindow();
      await page.evaluate(() => window.__imgfleetEmit('menu:command', { command: 'settings' }));
      await page.waitForSelector('#settings-dialog[open]');
      assert.equal(await page.textContent('#settings-watch-folder'), 'none');
      harness.folderQueue.push(inbox);
      await page.click('#settings-watch-choose');
      await page.waitForFunction((folder) => document.getElementById('settings-watch-folder')?.textContent === folder, inbox);
      assert.equal(await page.inputValue('select[name="watchMode"]'), 'upload');
      await page.click('#settings-form button[type="submit"]');
      await page.waitForSelector('#settings-dialog', { state: 'hidden' });
      await events.next((e) => e.type === 'ready');

      const part = path.join(inbox, '.harbour.jpg.part');
      await fs.writeFile(part, await images.makeImage({ width: 2000, height: 1500, seed: 41 }));
      await fs.rename(part, target);
      const done = await events.next((e) => (e.type === 'finished' || e.type === 'error') && e.path === target);
      assert.ok(done.type === 'finished' && done.entry.stage === 'done', JSON.stringify(done));
      assert.equal(done.type === 'finished' && done.entry.result, path.join(output, 'harbour_800x600.jpg'), "named by the settings' template");
    } finally {
      await harness.close();
    }

    const again = new Events();
    const restarted = await AppHarness.start({ userData, deps: { watchSettleMs: 150, onWatchEvent: again.push } });
    try {
      assert.equal(restarted.settings.get().watchFolder, inbox, 'the setting survives the restart');
      await again.next((e) => e.type === 'known' && e.path === target);
      assert.ok(!again.all.some((e) => e.type === 'taken'), JSON.stringify(again.all));
    } finally {
      await restarted.close();
    }
    assert.deepEqual(await fs.readdir(output), ['harbour_800x600.jpg']);
  });
});
