/**
 * The desktop window (real renderer, real main-process handlers, real
 * backend behind a real HTTP proxy that records every upload): an Upload
 * pressed while a file is still being checked on this computer waits for
 * that check, and never sends a file the check refuses; Cancel ends the wait
 * and sends nothing. The check of every `slow-*` file is held at a gate the
 * test opens, around the real previewer, so the wait is there however fast
 * the machine is.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createPreviewer, type Previewer } from '../../src/main/services/previewer.js';
import type { AppHarness } from '../support/app-harness.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import type { HttpProxy } from '../support/http-proxy.js';
import { cardStates, dropPaths, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startWindowBehindProxy, type WindowBehindProxy } from '../support/window-behind-proxy.js';

/** The real previewer, but `slow-*` files are only checked once `open()` is called. */
function gatedPreviewer(): { previewer: Previewer; open(): void } {
  const real = createPreviewer();
  let open!: () => void;
  let gate = new Promise<void>((resolve) => (open = resolve));
  return {
    previewer: {
      limiter: real.limiter,
      async preview(filePath, options) {
        if (path.basename(filePath).startsWith('slow-')) await gate;
        return real.preview(filePath, options);
      },
    },
    open() {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

describe('desktop window: Upload and the checks on this computer', () => {
  let app: WindowBehindProxy;
  let proxy: HttpProxy;
  let harness: AppHarness;
  let page: Page;
  let work: string;
  const gate = gatedPreviewer();

  before(async () => {
    work = await tempDir('upload-waits-for-checks');
    app = await startWindowBehindProxy('window-checks', { deps: { previewer: gate.previewer } });
    ({ proxy, harness, page } = app);
  });

  after(async () => {
    await app?.close();
    await removeDir(work);
  });

  it('waits for a file still being checked, then sends the good ones and never the one the check refuses', async () => {
    const folder = path.join(work, 'a');
    await writePhotos(folder, [{ name: 'good.jpg', width: 1600, height: 1200, seed: 3 }]);
    await writeTruncatedPhoto(path.join(folder, 'slow-damaged.jpg'));
    await dropPaths(page, [folder]);
    await waitForCards(page, (cs) => cs.length === 2 && previewSettled(cs.find((c) => c.name === 'good.jpg')));
    await page.keyboard.press('Control+u');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Checking 1 photo on this computer before sending'));
    assert.equal(await page.isDisabled('#upload'), true, 'no second Upload while the first waits');
    await page.waitForTimeout(300);
    assert.equal(proxy.uploads().length, 0, 'nothing sent while a check is pending');

    gate.open();
    const done = await waitForCards(page, (cs) => cs.length === 2 && cs.every((c) => c.status === 'completed' || c.status === 'failed'), 60_000);
    const damaged = done.find((c) => c.name === 'slow-damaged.jpg')!;
    assert.equal(damaged.id, null, 'never sent: the backend has no row for it');
    assert.match(damaged.reason ?? '', /\(checked on this computer\)$/);
    assert.equal(done.find((c) => c.name === 'good.jpg')?.status, 'completed');
    assert.equal(proxy.uploads().length, 1, 'one request: the good photo');
  });

  it('Cancel ends the wait, and nothing is sent', async () => {
    await page.click('#clear');
    await waitForCards(page, (cs) => cs.length === 0);
    const folder = path.join(work, 'b');
    await writePhotos(folder, [
      { name: 'later.jpg', width: 1600, height: 1200, seed: 4 },
      { name: 'slow-fine.jpg', width: 1600, height: 1200, seed: 5 },
    ]);
    await dropPaths(page, [folder]);
    await waitForCards(page, (cs) => cs.length === 2 && previewSettled(cs.find((c) => c.name === 'later.jpg')));
    const sent = proxy.uploads().length;
    await page.keyboard.press('Control+u');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Checking 1 photo'));
    await page.click('#cancel');
    assert.match((await page.textContent('#notice')) ?? '', /Upload cancelled: nothing was sent/);

    gate.open();
    await waitForCards(page, (cs) => cs.every(previewSettled));
    await page.waitForTimeout(500);
    assert.equal(proxy.uploads().length, sent, 'no upload after a cancelled wait');
    assert.deepEqual(
      (await cardStates(page)).map((c) => [c.name, c.status, c.id]),
      [
        ['later.jpg', 'queued', null],
        ['slow-fine.jpg', 'queued', null],
      ],
    );
    assert.equal(await page.isDisabled('#upload'), false, 'Upload works again');
    assert.deepEqual(harness.pageErrors, []);
  });
});
