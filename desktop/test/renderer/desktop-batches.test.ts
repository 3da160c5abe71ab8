/**
 * A batch survives in the desktop app (issue 21): after a restart (the
 * same user data folder, new main-process handlers, a new window) the last
 * session comes back from the server, the files still on disk with their
 * size linked again (previewed, uploadable), the others asking to be added
 * again; "Recent batches" opens any batch of the server, downloads it into
 * the output folder, deletes it. The real renderer and main-process
 * handlers, a real backend.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { AppHarness } from '../support/app-harness.js';
import { writePhotos } from '../support/fixtures.js';
import { dropPaths, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

describe('desktop: batches that survive a restart, and Recent batches', () => {
  let backend: TestBackend;
  let harness: AppHarness | undefined;
  let work: string;
  let userData: string;
  let output: string;

  const start = async (): Promise<Page> => {
    harness = await AppHarness.start({ userData, settings: { backendUrl: backend.url, outputFolder: output } });
    const page = await harness.openMainWindow();
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
    return page;
  };

  before(async () => {
    work = await tempDir('desktop-batches');
    userData = path.join(work, 'user-data');
    output = path.join(work, 'out');
    backend = await startTestBackend({ POD_NAME: 'desktop-batches' });
  });

  after(async () => {
    await harness?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('restores the last session after a restart: from the server, the files still on disk linked again', async () => {
    const [sea, hill, kept, gone, changed] = await writePhotos(path.join(work, 'photos'), [
      { name: 'sea.jpg', width: 1600, height: 1200, seed: 1 },
      { name: 'hill.jpg', width: 1200, height: 1600, seed: 2 },
      { name: 'kept.jpg', width: 900, height: 600, seed: 3 },
      { name: 'gone.jpg', width: 900, height: 600, seed: 4 },
      { name: 'changed.jpg', width: 900, height: 600, seed: 5 },
    ]);
    let page = await start();
    await dropPaths(page, [sea!, hill!]);
    await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
    await page.keyboard.press('Control+u');
    await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 60_000);
    await dropPaths(page, [kept!, gone!, changed!]);
    await waitForCards(page, (cs) => cs.length === 5 && cs.every(previewSettled));
    const batchText = await page.textContent('#batch-id');
    // Remembered: the session file names the five.
    const sessionFile = path.join(userData, 'session.json');
    for (;;) {
      const saved = JSON.parse(await fs.readFile(sessionFile, 'utf8').catch(() => '{"files":[]}')) as { files: { path?: string }[] };
      if (saved.files.length === 5 && saved.files.every((f) => f.path)) break;
      await page.waitForTimeout(50);
    }
    await harness!.close();

    // While the app is closed: one file goes, one changes.
    await fs.rm(gone!);
    await fs.appendFile(changed!, Buffer.from('more bytes'));
    page = await start();
    assert.equal(await page.textContent('#batch-id'), batchText, 'the same batch');
    const cards = await waitForCards(
      page,
      (cs) => cs.length === 5 && cs.filter((c) => c.status === 'completed').length === 2 && cs.filter((c) => c.hasPreview).length === 3,
      30_000,
    );
    assert.deepEqual(
      cards.map((c) => c.name),
      ['sea.jpg', 'hill.jpg', 'kept.jpg', 'gone.jpg', 'changed.jpg'],
    );
    assert.deepEqual(
      cards.map((c) => c.statusText),
      ['Completed 800×600', 'Completed 450×600', 'Queued', 'Not uploaded', 'Not uploaded'],
    );
    for (const name of ['gone.jpg', 'changed.jpg']) assert.match(cards.find((c) => c.name === name)?.note ?? '', /add it again/);
    await harness!.screenshot(page, 'desktop-batches-restored');

    // The file still there is readable again (its check ran: its preview) and is sent into the same batch.
    await page.keyboard.press('Control+u');
    const after = await waitForCards(page, (cs) => cs.find((c) => c.name === 'kept.jpg')?.status === 'completed', 60_000);
    assert.equal(after.find((c) => c.name === 'gone.jpg')?.status, 'queued', 'nothing to send for the file that went');
    assert.deepEqual(harness!.pageErrors, []);
  });

  it('opens any batch from Recent batches, downloads it whole into the output folder, and deletes it', async () => {
    const page = harness!.context.pages().find((p) => p.url().endsWith('desktop.html'))!;
    const [other] = await writePhotos(path.join(work, 'other'), [{ name: 'elsewhere.jpg', width: 1000, height: 800, seed: 9 }]);
    const form = new FormData();
    form.append('images', new Blob([await fs.readFile(other!)]), 'elsewhere.jpg');
    const { batchId } = (await (await fetch(`${backend.url}/api/v1/images`, { method: 'POST', body: form })).json()) as { batchId: string };
    for (;;) {
      const batch = (await (await fetch(`${backend.url}/api/v1/batches/${batchId}`)).json()) as { completed: number };
      if (batch.completed === 1) break;
      await page.waitForTimeout(100);
    }

    await page.click('#recent-batches');
    await page.waitForFunction(() => document.getElementById('batches-dialog')?.dataset.loaded === 'true');
    const row = page.locator(`#batches-list li[data-batch-id="${batchId}"]`);
    assert.match((await row.textContent()) ?? '', /1 photo · 1 done/);
    await row.locator('button', { hasText: 'Download all' }).click();
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Downloaded 1 file'));
    assert.deepEqual(await fs.readdir(output), ['elsewhere_750x600.jpg']);

    await row.locator('button', { hasText: 'Open' }).click();
    const cards = await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.status === 'completed' && cs[0]!.hasPreview, 30_000);
    assert.equal(cards[0]!.name, 'elsewhere.jpg');
    assert.equal(await page.isDisabled('#resize-locally'), true, 'no file on this computer to resize');

    await page.click('#recent-batches');
    await page.waitForFunction(() => document.getElementById('batches-dialog')?.dataset.loaded === 'true');
    const first = page.locator('#batches-list li').nth(1);
    const deleted = await first.getAttribute('data-batch-id');
    const remove = first.locator('button', { hasText: 'Delete' });
    await remove.click();
    await remove.click();
    await page.waitForFunction(
      (id) => !document.querySelector(`#batches-list li[data-batch-id="${id}"]`) && document.getElementById('batches-dialog')?.dataset.loaded === 'true',
      deleted,
    );
    assert.equal((await fetch(`${backend.url}/api/v1/batches/${deleted}`)).status, 404);
    assert.deepEqual(harness!.pageErrors, []);
  });
});
