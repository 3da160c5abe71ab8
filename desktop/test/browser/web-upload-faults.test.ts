/**
 * The web page's uploads when things go wrong, against the real backend
 * behind a real HTTP proxy (headless Chromium, real Postgres): files found
 * bad on this computer are never sent, files the backend refused get no
 * Retry, every upload request carries one Idempotency-Key kept across its
 * retries, a request that is never answered fails with its reason and can be
 * retried, Cancel is reported as cancelled, and files are taken by content.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { images } from '../support/backend-support.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';
import { cardStates, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { noticeText, openWebApp, screenshot, type WebApp } from '../support/web-page.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function pick(page: Page, files: string[]): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await page.click('#add-files');
  await (await chooser).setFiles(files);
}

/** Whether the card named `name` shows its Retry button. */
function retryShown(page: Page, name: string): Promise<boolean> {
  return page.$$eval(
    '#cards li.card',
    (cards, wanted) => {
      const card = cards.find((c) => c.querySelector('.name')?.textContent === wanted);
      const button = card?.querySelector<HTMLButtonElement>('button[data-action="retry"]');
      if (!button) throw new Error(`no card ${wanted}`);
      return !button.hidden;
    },
    name,
  );
}

const setUploadTimeouts = (page: Page, timeouts: Record<string, number>): Promise<void> =>
  page.evaluate((value) => {
    const stored = JSON.parse(localStorage.getItem('imgfleet.settings') ?? '{}') as Record<string, unknown>;
    localStorage.setItem('imgfleet.settings', JSON.stringify({ ...stored, uploadTimeouts: value }));
  }, timeouts);

describe('web UI uploads under faults', () => {
  let backend: TestBackend;
  let proxy: HttpProxy;
  let app: WebApp;
  let page: Page;
  let work: string;

  before(async () => {
    work = await tempDir('web-upload-faults');
    // Small enough that a real photo passes the page's own check (50 MiB) but not the backend's.
    backend = await startTestBackend({ POD_NAME: 'web-faults', MAX_UPLOAD_BYTES: '300000' });
    proxy = await startHttpProxy(backend.url);
    app = await openWebApp(proxy.url);
    page = app.page;
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
  });

  after(async () => {
    await app?.close();
    await proxy?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('never uploads files found bad on this computer, and offers no Retry for what the backend refused', async () => {
    const [small] = await writePhotos(work, [{ name: 'small.jpg', width: 400, height: 300 }]);
    const big = path.join(work, 'big.jpg');
    await fs.writeFile(big, await images.makeImage({ width: 2000, height: 1500, grain: 12, quality: 95 }));
    assert.ok((await fs.stat(big)).size > 300_000, 'big.jpg is above the backend limit');
    const broken = await writeTruncatedPhoto(path.join(work, 'broken.jpg'));
    const text = path.join(work, 'text.jpg');
    await fs.writeFile(text, 'notes, not a photo\n'.repeat(10));

    await pick(page, [small!, big, broken, text]);
    const checked = await waitForCards(page, (cs) => cs.length === 4 && cs.every(previewSettled));
    const byName = new Map(checked.map((c) => [c.name, c]));
    for (const name of ['broken.jpg', 'text.jpg']) {
      assert.equal(byName.get(name)?.status, 'failed', `${name} is failed at once`);
      assert.equal(byName.get(name)?.statusText, 'Failed');
      assert.match(byName.get(name)?.reason ?? '', /\(checked on this computer\)$/);
      assert.equal(await retryShown(page, name), false, `no Retry for ${name}`);
    }
    assert.match((await page.textContent('#summary-text')) ?? '', /4 files · 2 queued · 2 failed/);

    const before = proxy.uploads().length;
    await page.click('#upload');
    const done = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 60_000);
    assert.equal(proxy.uploads().length - before, 2, 'only small.jpg and big.jpg were sent');
    const after = new Map(done.map((c) => [c.name, c]));
    assert.equal(after.get('small.jpg')?.status, 'completed');
    assert.equal(after.get('big.jpg')?.status, 'failed');
    assert.match(after.get('big.jpg')?.reason ?? '', /larger than the limit/);
    assert.ok(after.get('big.jpg')?.id, 'the backend answered for it');
    assert.equal(await retryShown(page, 'big.jpg'), false, 'no Retry for a file the backend refused');
    for (const name of ['broken.jpg', 'text.jpg']) assert.equal(after.get(name)?.id, null, `${name} never reached the backend`);
    assert.equal(await page.isDisabled('#retry-failed'), true, 'nothing to retry');
    await page.waitForFunction(() => document.body.dataset.batchFinished === 'true');
    assert.match(await noticeText(page), /Batch finished: 1 completed, 3 failed/);
    await screenshot(page, 'web-faults-1-refused');
  });

  it('sends an Idempotency-Key with every upload and keeps it on each retry of the same file', async () => {
    const [fresh] = await writePhotos(work, [{ name: 'fresh.jpg', width: 500, height: 400, seed: 7 }]);
    const tries = new Map<string, number>();
    proxy.setUploadFault((upload) => {
      const key = String(upload.headers['idempotency-key']);
      tries.set(key, (tries.get(key) ?? 0) + 1);
      return tries.get(key)! <= 2 ? 'unavailable' : 'forward';
    });
    const before = proxy.uploads().length;
    await pick(page, [fresh!]);
    await waitForCards(page, (cs) => previewSettled(cs.find((c) => c.name === 'fresh.jpg')));
    await page.click('#upload');
    await waitForCards(page, (cs) => cs.find((c) => c.name === 'fresh.jpg')?.status === 'completed', 60_000);
    const seen = proxy.uploads().slice(before);
    assert.deepEqual(
      seen.map((r) => r.fault),
      ['unavailable', 'unavailable', 'forward'],
    );
    const keys = new Set(seen.map((r) => r.headers['idempotency-key']));
    assert.equal(keys.size, 1, 'one key for the file, on every try');
    assert.match(String([...keys][0]), UUID_V4);
    const earlier = proxy
      .uploads()
      .slice(0, before)
      .map((r) => r.headers['idempotency-key']);
    assert.ok(!earlier.includes([...keys][0]), 'a new key for a new file');
    proxy.setUploadFault(() => 'forward');
  });

  it('fails an upload the backend never answers, with its reason, and lets it be retried', async () => {
    const [stuck] = await writePhotos(work, [{ name: 'stuck.jpg', width: 640, height: 480, seed: 8 }]);
    proxy.setUploadFault(() => 'stall');
    // Short only while every upload stalls: a loaded machine may take more than that to answer a real one.
    await setUploadTimeouts(page, { responseAfterBodyMs: 1500 });
    await pick(page, [stuck!]);
    await waitForCards(page, (cs) => previewSettled(cs.find((c) => c.name === 'stuck.jpg')));
    await page.click('#upload');
    const failed = await waitForCards(page, (cs) => cs.find((c) => c.name === 'stuck.jpg')?.status === 'failed', 30_000);
    assert.match(failed.find((c) => c.name === 'stuck.jpg')?.reason ?? '', /the file was sent, but the backend did not answer within 1\.5 s; retry it/);
    assert.equal(await page.textContent('#eta'), '', 'no running time-left estimate');
    assert.equal(await retryShown(page, 'stuck.jpg'), true);
    await screenshot(page, 'web-faults-2-no-answer');
    const stuckKey = proxy.uploads().at(-1)?.headers['idempotency-key'];
    assert.match(String(stuckKey), UUID_V4);

    proxy.setUploadFault(() => 'forward');
    await setUploadTimeouts(page, { responseAfterBodyMs: 60_000 });
    const before = proxy.uploads().length;
    await page.click('#cards li.card:last-child button[data-action="retry"]');
    await waitForCards(page, (cs) => cs.find((c) => c.name === 'stuck.jpg')?.status === 'completed', 60_000);
    // The backend may have stored the unanswered request: the person's Retry is the same request, same key.
    assert.deepEqual(proxy.uploadKeys(before), [stuckKey]);
  });

  it('after Cancel, says the upload was cancelled with the counts, not that the batch finished', async () => {
    const photos = await writePhotos(work, [
      { name: 'later-1.jpg', width: 600, height: 400, seed: 11 },
      { name: 'later-2.jpg', width: 600, height: 400, seed: 12 },
    ]);
    proxy.setUploadFault(() => 'stall');
    await pick(page, photos);
    await waitForCards(page, (cs) => cs.filter((c) => c.name.startsWith('later-')).every(previewSettled));
    await page.evaluate(() => {
      delete document.body.dataset.batchFinished;
    });
    const before = proxy.uploads().length;
    await page.click('#upload');
    await waitForCards(page, (cs) => cs.filter((c) => c.name.startsWith('later-')).every((c) => c.statusText === 'Uploading 100%'));
    while (proxy.uploads().length - before < 2) await page.waitForTimeout(50);
    await page.click('#cancel');
    await page.waitForFunction(() => document.body.dataset.batchCancelled === 'true');
    const notice = await noticeText(page);
    assert.doesNotMatch(notice, /finished/i);
    assert.match(notice, /^Upload cancelled: 3 completed, 3 failed, 2 not uploaded$/);
    const later = (await cardStates(page)).filter((c) => c.name.startsWith('later-'));
    assert.deepEqual(
      later.map((c) => c.status),
      ['queued', 'queued'],
    );
    assert.equal(await page.evaluate(() => document.body.dataset.batchFinished), undefined);
    proxy.setUploadFault(() => 'forward');
  });

  it('takes images by their content, whatever their names', async () => {
    await page.click('#clear');
    const png = path.join(work, 'holiday.png');
    await fs.writeFile(png, await images.makeImage({ width: 300, height: 200, format: 'png' }));
    const webp = path.join(work, 'shot.webp');
    await fs.writeFile(webp, await images.makeImage({ width: 200, height: 300, format: 'webp' }));
    const noName = path.join(work, 'IMG_0002');
    await fs.writeFile(noName, await images.makeImage({ width: 1000, height: 800 }));
    const notes = path.join(work, 'notes.txt');
    await fs.writeFile(notes, 'notes');
    await pick(page, [png, webp, noName, notes]);
    const cards = await waitForCards(page, (cs) => cs.length === 3 && cs.every(previewSettled));
    assert.deepEqual(
      cards.map((c) => [c.name, c.dims, c.status]),
      [
        ['holiday.png', '300×200 → 300×200', 'queued'],
        ['shot.webp', '200×300 → 200×300', 'queued'],
        ['IMG_0002', '1000×800 → 750×600', 'queued'],
      ],
    );
    assert.match(await noticeText(page), /Added 3 photos · 1 other file ignored \(only JPEG, PNG, WebP, HEIC, TIFF and GIF images are taken\)/);
    await page.click('#upload');
    const done = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 60_000);
    assert.deepEqual(
      done.map((c) => c.statusText),
      ['Completed 300×200', 'Completed 200×300', 'Completed 750×600'],
    );
    assert.deepEqual(app.pageErrors, []);
  });
});
