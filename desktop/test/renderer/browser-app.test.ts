/**
 * The same renderer served by the backend at `/` to a plain browser (no
 * preload, so the browser adapter): pick files, previews decoded by the
 * browser, XHR uploads, live statuses over EventSource with the API token in
 * ?access_token=, a result downloaded through a link.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../support/app-harness.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { cardStates, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir, TEST_OUTPUT_DIR } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

const TOKEN = 'browser-secret';

describe('web UI served by the backend, in a plain browser', () => {
  let backend: TestBackend;
  let browser: Browser;
  let page: Page;
  let work: string;
  const pageErrors: string[] = [];

  before(async () => {
    work = await tempDir('browser-app');
    backend = await startTestBackend({ API_TOKEN: TOKEN, POD_NAME: 'web-test' });
    browser = await launchBrowser();
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    // The token a person would type into Settings, kept in localStorage by the browser adapter.
    await context.addInitScript((token) => localStorage.setItem('imgfleet.settings', JSON.stringify({ apiToken: token })), TOKEN);
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${backend.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
  });

  after(async () => {
    await browser?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('runs the browser adapter, hiding what only the desktop can do', async () => {
    assert.equal(await page.evaluate(() => document.body.dataset.platform), 'browser');
    assert.equal(await page.evaluate(() => 'imgfleet' in window), false);
    for (const id of ['#resize-locally', '#choose-folder', '#open-folder']) assert.equal(await page.isHidden(id), true, id);
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
  });

  it('previews picked files, uploads them and follows their statuses live', async () => {
    const photos = await writePhotos(work, [
      { name: 'web-a.jpg', width: 4000, height: 3000 },
      { name: 'web-b.jpg', width: 1200, height: 1800 },
    ]);
    photos.push(await writeTruncatedPhoto(path.join(work, 'web-broken.jpg')));
    const chooser = page.waitForEvent('filechooser');
    await page.click('#add-files');
    await (await chooser).setFiles(photos);

    const previews = await waitForCards(page, (cs) => cs.length === 3 && cs.every(previewSettled));
    assert.equal(previews[0]?.dims, '4000×3000 → 800×600');
    assert.equal(previews[1]?.dims, '1200×1800 → 400×600');
    assert.ok(previews[0]?.hasPreview && previews[1]?.hasPreview);
    assert.match(previews[2]?.reason ?? '', /corrupt or truncated/);

    await page.click('#upload');
    const done = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 60_000);
    assert.deepEqual(
      done.map((c) => c.statusText),
      ['Completed 800×600', 'Completed 400×600', 'Failed'],
    );
    assert.match(done[2]?.reason ?? '', /corrupt or truncated image data \(.*\(checked on this computer\)$/, 'failed on this computer, never sent');
    assert.equal(done[2]?.id, null);
    await page.screenshot({ path: path.join(TEST_OUTPUT_DIR, 'browser-app-completed.png'), fullPage: true });
  });

  it('downloads a result through a link, named by the template', async () => {
    const download = page.waitForEvent('download');
    await page.click('#cards li.card:first-child button[data-action="download"]');
    const file = await download;
    assert.equal(file.suggestedFilename(), 'web-a_800x600.jpg');
    const saved = path.join(work, file.suggestedFilename());
    await file.saveAs(saved);
    const meta = await sharp(saved).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 800, 600]);
    assert.match((await cardStates(page))[0]?.note ?? '', /Saved web-a_800x600\.jpg/);
  });

  it("puts a photo deleted on the server back in the queue (the browser's EventSource hears it too)", async () => {
    const first = (await cardStates(page))[0]!;
    const res = await fetch(`${backend.url}/api/v1/images/${first.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 204);
    const cards = await waitForCards(page, (cs) => cs[0]?.status === 'queued');
    assert.equal(cards[0]?.id, null);
    assert.match(cards[0]?.note ?? '', /Deleted on the server/);
  });

  it("opens the metrics page, which charts the backend's stream", async () => {
    const popup = page.waitForEvent('popup');
    await page.click('#open-metrics');
    const metrics = await popup;
    await metrics.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 20_000 });
    await metrics.waitForFunction(() => document.getElementById('stat-pod')?.textContent === 'web-test');
    assert.deepEqual(pageErrors, []);
  });
});
