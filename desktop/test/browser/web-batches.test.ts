/**
 * A batch survives in the web page (issue 21), in a real Chromium against
 * the real backend behind a real HTTP proxy: the batch is in the address
 * and this browser's storage; a reload restores it from the server (cards,
 * statuses, results, Download all), a file not uploaded yet asks to be
 * added again and takes its place when it is; the address opens the batch
 * anywhere; "Recent batches" lists the server's batches to open, download
 * or delete; and the page asks before leaving while anything uploads.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { writePhotos } from '../support/fixtures.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';
import { cardNamed, cardStates, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { launchPlainBrowser, noticeText, openWebApp, readZip, saveDownload, screenshot, type WebApp } from '../support/web-page.js';

async function pick(page: Page, files: string[]): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await page.click('#add-files');
  await (await chooser).setFiles(files);
}

const batchOf = (page: Page): string | null => new URL(page.url()).searchParams.get('batch');

/** Uploads photos as a plain HTTP client would; returns their batch once the in-process dispatcher has ended every one. */
async function uploadDirectly(backend: TestBackend, files: string[]): Promise<string> {
  const ended = new Set<number>();
  let heard = (): void => undefined;
  backend.backend.dispatcher.onOutcome((outcome) => {
    ended.add(outcome.id);
    heard();
  });
  const form = new FormData();
  for (const file of files) form.append('images', new Blob([await fs.readFile(file)]), path.basename(file));
  const body = (await (await fetch(`${backend.url}/api/v1/images`, { method: 'POST', body: form })).json()) as { batchId: string; images: { id: number }[] };
  const allEnded = (): boolean => body.images.every((image) => ended.has(image.id));
  if (!allEnded()) {
    await new Promise<void>((resolve) => {
      heard = () => {
        if (allEnded()) resolve();
      };
    });
  }
  const batch = (await (await fetch(`${backend.url}/api/v1/batches/${body.batchId}`)).json()) as { pending: number; processing: number };
  assert.equal(batch.pending + batch.processing, 0);
  return body.batchId;
}

describe('web page: batches that survive', () => {
  let backend: TestBackend;
  let proxy: HttpProxy;
  let app: WebApp;
  let page: Page;
  let work: string;
  let photos: string[];

  before(async () => {
    work = await tempDir('web-batches');
    backend = await startTestBackend({ POD_NAME: 'web-batches' });
    proxy = await startHttpProxy(backend.url);
    app = await openWebApp(proxy.url);
    page = app.page;
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
    photos = await writePhotos(work, [
      { name: 'sea.jpg', width: 1600, height: 1200, seed: 1 },
      { name: 'hill.jpg', width: 1200, height: 1600, seed: 2 },
      { name: 'later.jpg', width: 900, height: 600, seed: 3 },
    ]);
  });

  after(async () => {
    await app?.close();
    await proxy?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('keeps the batch in the address and restores it after a reload: cards, statuses, results, Download all', async () => {
    const batchId = batchOf(page);
    assert.match(String(batchId), /^[0-9a-f-]{36}$/, 'the batch is in the address from the start');
    await pick(page, photos.slice(0, 2));
    await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
    await page.click('#upload');
    await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 60_000);
    await page.waitForFunction(() => document.querySelectorAll('#cards .size.saving').length === 2);
    // One more, not uploaded.
    await pick(page, [photos[2]!]);
    await waitForCards(page, (cs) => cs.length === 3 && cs.every(previewSettled));
    await page.waitForFunction(() => (JSON.parse(localStorage.getItem('imgfleet.batch') ?? '{"files":[]}') as { files: unknown[] }).files.length === 3);
    const before = await cardStates(page);

    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    assert.equal(batchOf(page), batchId, 'the same batch');
    const cards = await waitForCards(
      page,
      (cs) => cs.length === 3 && cs.filter((c) => c.status === 'completed').length === 2 && cs.filter((c) => c.hasPreview).length === 2,
      30_000,
    );
    assert.deepEqual(
      cards.map((c) => c.name),
      ['sea.jpg', 'hill.jpg', 'later.jpg'],
      'in their order',
    );
    for (const name of ['sea.jpg', 'hill.jpg']) {
      const card = cards.find((c) => c.name === name)!;
      const earlier = before.find((c) => c.name === name)!;
      assert.equal(card.id, earlier.id);
      assert.equal(card.statusText, earlier.statusText, `${name}: its result's size`);
      assert.equal(await cardNamed(page, name).locator('button[data-action="download"]').isVisible(), true);
    }
    const later = cards.find((c) => c.name === 'later.jpg')!;
    assert.equal(later.statusText, 'Not uploaded');
    assert.match(later.note ?? '', /add it again/);
    assert.equal(await page.isDisabled('#upload'), true, 'nothing this page can send');
    assert.match((await page.textContent('#saving-text')) ?? '', /over 2 results/);
    await screenshot(page, 'web-batches-1-restored');

    const download = page.waitForEvent('download');
    await page.click('#download-all');
    const zip = await readZip(await saveDownload(await download, work));
    assert.equal(zip.length, 2);

    // The file added again takes its card's place, and is sent into the same batch.
    await pick(page, [photos[2]!]);
    const again = await waitForCards(page, (cs) => cs.find((c) => c.name === 'later.jpg')?.statusText === 'Queued' && cs.every(previewSettled));
    assert.equal(again.length, 3, 'no second card');
    await page.click('#upload');
    await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 60_000);
    const listed = (await (await fetch(`${backend.url}/api/v1/images?batchId=${batchId}`)).json()) as { total: number };
    assert.equal(listed.total, 3);
  });

  it('opens the batch from its address in another browser (shareable, bookmarkable)', async () => {
    const batchId = batchOf(page)!;
    const browser = await launchPlainBrowser();
    try {
      const other = await browser.newPage();
      await other.goto(`${proxy.url}/?batch=${batchId}`);
      await other.waitForFunction(() => document.body.dataset.ready === 'true');
      const cards = await waitForCards(other, (cs) => cs.length === 3 && cs.every((c) => c.status === 'completed' && c.hasPreview), 30_000);
      assert.deepEqual(cards.map((c) => c.name).sort(), ['hill.jpg', 'later.jpg', 'sea.jpg']);
      assert.equal(await other.isDisabled('#download-all'), false);
    } finally {
      await browser.close();
    }
  });

  it('lists recent batches: when, how many, done and failed, the saving; opens, downloads and deletes them', async () => {
    const current = batchOf(page)!;
    const otherBatch = await uploadDirectly(backend, [photos[0]!]);
    await page.click('#recent-batches');
    await page.waitForFunction(() => document.getElementById('batches-dialog')?.dataset.loaded === 'true');
    const rows = page.locator('#batches-list li');
    assert.equal(await rows.count(), 2);
    assert.equal(await rows.nth(0).getAttribute('data-batch-id'), otherBatch, 'the latest first');
    const mine = page.locator(`#batches-list li[data-batch-id="${current}"]`);
    assert.match((await mine.textContent()) ?? '', /\(this window\).*3 photos · 3 done.*Saving: .* → .* \(−\d+%\)/);
    assert.match(await page.locator('#batches-dialog').ariaSnapshot(), /- button "Open the batch of [^"]+"/);
    await screenshot(page, 'web-batches-2-list');

    const zip = page.waitForEvent('download');
    await rows.nth(0).locator('button', { hasText: 'Download all' }).click();
    assert.equal((await readZip(await saveDownload(await zip, work))).length, 1);

    await rows.nth(0).locator('button', { hasText: 'Open' }).click();
    await page.waitForFunction((id) => new URL(location.href).searchParams.get('batch') === id, otherBatch);
    const opened = await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.status === 'completed' && cs[0]!.hasPreview, 30_000);
    assert.equal(opened[0]!.name, 'sea.jpg');
    assert.match(await noticeText(page), /Opened batch/);

    await page.click('#recent-batches');
    await page.waitForFunction(() => document.getElementById('batches-dialog')?.dataset.loaded === 'true');
    const remove = page.locator(`#batches-list li[data-batch-id="${current}"] button`, { hasText: 'Delete' });
    await remove.click();
    assert.equal(await remove.textContent(), 'Delete for good?', 'asked first');
    await remove.click();
    await page.waitForFunction(
      (id) => !document.querySelector(`#batches-list li[data-batch-id="${id}"]`) && document.getElementById('batches-dialog')?.dataset.loaded === 'true',
      current,
    );
    assert.equal((await fetch(`${backend.url}/api/v1/batches/${current}`)).status, 404);
    await page.click('#batches-close');
  });

  it('asks before leaving while anything is uploading, and not otherwise', async () => {
    await page.click('#clear');
    await pick(page, [photos[1]!]);
    await waitForCards(page, (cs) => cs.length === 1 && cs.every(previewSettled));
    proxy.setUploadFault(() => 'stall');
    await page.click('#upload');
    await waitForCards(page, (cs) => cs[0]?.status === 'uploading');
    const asked = page.waitForEvent('dialog');
    await page.close({ runBeforeUnload: true });
    const dialog = await asked;
    assert.equal(dialog.type(), 'beforeunload');
    await dialog.dismiss();
    assert.equal(page.isClosed(), false, 'the page stays');
    await page.click('#cancel');
    proxy.setUploadFault(() => 'forward');
    await waitForCards(page, (cs) => cs[0]?.status === 'queued');
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.accept();
    });
    const closed = page.waitForEvent('close');
    await page.close({ runBeforeUnload: true });
    await closed;
    assert.equal(dialogs, 0, 'nothing uploading: no question');
    assert.deepEqual(app.pageErrors, []);
  });
});
