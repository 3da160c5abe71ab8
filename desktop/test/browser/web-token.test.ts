/**
 * A backend with API_TOKEN, opened by someone whose browser has no token
 * yet: the page says a token is needed (not "offline") and asks for it, a
 * wrong one is named as refused, the right one is kept by the browser, and
 * the flow then works: upload, live statuses, the ZIP (the token rides in
 * ?access_token=, as links cannot set headers) and the metrics view.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { writePhotos } from '../support/fixtures.js';
import { waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { openWebApp, readZip, saveDownload, screenshot, type WebApp } from '../support/web-page.js';

const TOKEN = 'web-token-secret';

describe('web UI in a plain browser, backend with API_TOKEN', () => {
  let backend: TestBackend;
  let app: WebApp;
  let page: Page;
  let work: string;

  const saveToken = async (token: string): Promise<void> => {
    await page.waitForSelector('#settings-dialog[open]');
    await page.fill('#settings-dialog input[name="apiToken"]', token);
    await page.click('#settings-dialog button[type="submit"]');
    await page.waitForSelector('#settings-dialog:not([open])', { state: 'attached' });
  };

  before(async () => {
    work = await tempDir('web-token');
    backend = await startTestBackend({ API_TOKEN: TOKEN, POD_NAME: 'web-token', METRICS_PERIOD: '0.5' });
    app = await openWebApp(backend.url);
    page = app.page;
  });

  after(async () => {
    await app?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('asks for the token when the backend wants one, instead of calling it offline', async () => {
    await page.waitForSelector('#settings-dialog[open]', { timeout: 20_000 });
    assert.equal(await page.textContent('#offline-title'), 'API token needed.');
    assert.match((await page.textContent('#offline-text')) ?? '', /asks for one: this browser has none saved yet \(401\)/);
    assert.match((await page.textContent('#connection')) ?? '', /API token needed/);
    assert.equal(await page.isVisible('#offline-action'), true);
    await screenshot(page, 'web-token-1-asked');
  });

  it('says so when the token is wrong, and takes the right one from Settings', async () => {
    await saveToken('not-the-token');
    await page.waitForFunction(
      () => (document.getElementById('offline-text')?.textContent ?? '').includes('token saved in this browser was refused'),
      undefined,
      { timeout: 20_000 },
    );
    assert.equal(await page.isVisible('#settings-dialog'), false, 'asked once; then the banner button opens Settings');

    await page.click('#offline-action');
    await saveToken(TOKEN);
    await page.waitForFunction(() => document.body.dataset.connection === 'open', undefined, { timeout: 20_000 });
    assert.equal(await page.isHidden('#offline-banner'), true);
    assert.equal(
      await page.evaluate(() => (JSON.parse(localStorage.getItem('imgfleet.settings') ?? '{}') as { apiToken?: string }).apiToken),
      TOKEN,
      'kept by this browser',
    );
  });

  it('uploads, follows and downloads with the token', async () => {
    const photos = await writePhotos(work, [
      { name: 'secure-a.jpg', width: 2400, height: 1600 },
      { name: 'secure-b.jpg', width: 1000, height: 1500 },
    ]);
    const chooser = page.waitForEvent('filechooser');
    await page.click('#add-files');
    await (await chooser).setFiles(photos);
    await waitForCards(page, (cs) => cs.length === 2 && cs.every((c) => c.hasPreview));
    await page.click('#upload');
    const done = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 120_000);
    assert.deepEqual(
      done.map((c) => c.statusText),
      ['Completed 800×533', 'Completed 400×600'],
    );
    await screenshot(page, 'web-token-2-done');

    const one = page.waitForEvent('download');
    await page.click('#cards li.card:nth-child(2) button[data-action="download"]');
    const single = await saveDownload(await one, work);
    const meta = await sharp(single).metadata();
    assert.deepEqual([path.basename(single), meta.format, meta.width, meta.height], ['secure-b_400x600.jpg', 'jpeg', 400, 600]);

    const all = page.waitForEvent('download');
    await page.click('#download-all');
    const zipDownload = await all;
    assert.match(zipDownload.url(), /\/zip\?access_token=web-token-secret$/);
    const entries = await readZip(await saveDownload(zipDownload, work));
    assert.deepEqual(entries.map((e) => e.name).sort(), ['secure-a_800x533.jpg', 'secure-b_400x600.jpg']);
    for (const entry of entries) assert.equal((await sharp(entry.data).metadata()).format, 'jpeg');
  });

  it('shows the metrics view with the token the page keeps', async () => {
    const popup = page.waitForEvent('popup');
    await page.click('#open-metrics');
    const metrics = await popup;
    try {
      await metrics.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 20_000 });
      await metrics.waitForFunction(() => document.getElementById('stat-total')?.textContent === '2', undefined, { timeout: 20_000 });
      assert.equal(await metrics.textContent('#stat-pod'), 'web-token');
      await screenshot(metrics, 'web-token-3-metrics');
    } finally {
      await metrics.close();
    }
    assert.deepEqual(app.pageErrors, []);
  });

  it('tells a browser without the token that the metrics view needs one', async () => {
    const stranger = await app.browser.newContext();
    try {
      const metrics = await stranger.newPage();
      await metrics.goto(`${backend.url}/metrics.html`);
      await metrics.waitForFunction(() => document.body.dataset.metricsState === 'offline', undefined, { timeout: 20_000 });
      assert.equal(await metrics.textContent('#no-metrics-title'), 'API token needed');
      assert.match((await metrics.textContent('#stats-error')) ?? '', /needs an API token/);
      // Saved from another tab of the same browser: this view comes to life without a reload.
      await metrics.evaluate((token) => localStorage.setItem('imgfleet.settings', JSON.stringify({ apiToken: token })), TOKEN);
      await metrics.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 30_000 });
    } finally {
      await stranger.close();
    }
  });
});
