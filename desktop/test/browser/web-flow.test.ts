/**
 * The whole flow in a plain browser against the page the backend serves at
 * `/` (real backend, real Postgres, headless Chromium): pick photos and
 * files that must fail, previews, upload, live statuses without a reload,
 * one result and the batch ZIP downloaded, then the earlier system's pages
 * (/status/:id, /dashboard) and the metrics view from the live stream.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Download, Page } from 'playwright-core';
import { images } from '../support/backend-support.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { cardStates, pixelsOfColour, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { noticeText, openWebApp, readZip, saveDownload, screenshot, type WebApp } from '../support/web-page.js';
import { POD_CHARTS } from '../../src/renderer/metrics/chart-specs.js';

/** The first pod's colour in charts.ts's palette. */
const FIRST_POD_RGB: [number, number, number] = [0x4e, 0x79, 0xa7];

/** Uploads files as a plain HTTP client (not the page) would; returns the first's id once every one has failed. */
async function uploadDirectly(backend: TestBackend, files: string[]): Promise<{ id: number }> {
  // How the in-process dispatcher ended each image; one refused at the upload never reaches it (its row reads failed at once).
  const ended = new Map<number, string>();
  let heard = (): void => undefined;
  backend.backend.dispatcher.onOutcome((outcome) => {
    ended.set(outcome.id, outcome.status);
    heard();
  });
  const form = new FormData();
  for (const file of files) form.append('images', new Blob([await fs.readFile(file)]), path.basename(file));
  const response = await fetch(`${backend.url}/api/v1/images`, { method: 'POST', body: form });
  const body = (await response.json()) as { images: { id: number }[] };
  assert.equal(body.images.length, files.length);
  for (const image of body.images) {
    const state = (await (await fetch(`${backend.url}/api/v1/images/${image.id}`)).json()) as { status: string };
    if (state.status === 'failed') continue;
    const status =
      ended.get(image.id) ??
      (await new Promise<string>((resolve) => {
        heard = () => {
          const end = ended.get(image.id);
          if (end !== undefined) resolve(end);
        };
      }));
    assert.equal(status, 'failed', `image ${image.id} failed`);
  }
  return body.images[0]!;
}

async function jpegSize(data: Buffer | string): Promise<[string | undefined, number | undefined, number | undefined]> {
  const meta = await sharp(data).metadata();
  return [meta.format, meta.width, meta.height];
}

describe('web UI in a plain browser: pick, upload, follow, download', () => {
  let backend: TestBackend;
  let app: WebApp;
  let page: Page;
  let work: string;
  const downloads: Download[] = [];

  before(async () => {
    work = await tempDir('web-flow');
    backend = await startTestBackend({ POD_NAME: 'web-flow', METRICS_PERIOD: '0.5' });
    app = await openWebApp(backend.url);
    page = app.page;
    page.on('download', (d) => downloads.push(d));
  });

  after(async () => {
    await app?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('runs the browser adapter and hides what only the desktop can do', async () => {
    assert.equal(await page.evaluate(() => document.body.dataset.platform), 'browser');
    for (const id of ['#resize-locally', '#choose-folder', '#open-folder', '#settings-folder-row', '#settings-backend-row']) {
      assert.equal(await page.isHidden(id), true, `${id} is hidden`);
    }
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
    assert.match((await page.textContent('#output-folder')) ?? '', /browser’s downloads/);
    await screenshot(page, 'web-flow-1-empty');
  });

  it('previews picked files with the size the cluster will produce, without decoding what it refuses', async () => {
    const photos = await writePhotos(work, [
      { name: 'landscape.jpg', width: 4000, height: 3000 },
      { name: 'portrait.jpg', width: 1200, height: 1800 },
      // Stored 1600×1200, shown turned a quarter (EXIF 6): the header's orientation is applied.
      { name: 'turned.jpg', width: 1600, height: 1200, orientation: 6 },
    ]);
    // A PNG with a .jpg name: taken by its name, judged by its content (the backend resizes PNGs too).
    const png = path.join(work, 'really-a-png.jpg');
    await fs.writeFile(png, await images.makeImage({ width: 1000, height: 500, format: 'png' }));
    const broken = await writeTruncatedPhoto(path.join(work, 'broken.jpg'));
    const text = path.join(work, 'not-a-photo.jpg');
    await fs.writeFile(text, 'these are notes, not a photo\n'.repeat(20));
    const readme = path.join(work, 'readme.txt');
    await fs.writeFile(readme, 'ignored by name');

    const chooser = page.waitForEvent('filechooser');
    await page.click('#add-files');
    const fileChooser = await chooser;
    assert.equal(fileChooser.isMultiple(), true, 'the file input takes several files');
    await fileChooser.setFiles([...photos, png, broken, text, readme]);

    const cards = await waitForCards(page, (cs) => cs.length === 6 && cs.every(previewSettled));
    assert.match(await noticeText(page), /Added 6 photos · 1 other file ignored/);
    assert.deepEqual(
      cards.map((c) => [c.name, c.dims, c.hasPreview]),
      [
        ['landscape.jpg', '4000×3000 → 800×600', true],
        ['portrait.jpg', '1200×1800 → 400×600', true],
        ['turned.jpg', '1200×1600 → 450×600', true],
        ['really-a-png.jpg', '1000×500 → 800×400', true],
        ['broken.jpg', '—', false],
        ['not-a-photo.jpg', '—', false],
      ],
    );
    assert.match(cards[4]?.reason ?? '', /corrupt or truncated image data .*checked on this computer/);
    assert.match(cards[5]?.reason ?? '', /not a JPEG, PNG, WebP, HEIC\/HEIF, TIFF or GIF image/);
    // The preview of the turned photo is upright (portrait), as the backend's result will be.
    const turned = await page.$eval('#cards li.card:nth-child(3) .thumb img', (img) => [
      (img as HTMLImageElement).naturalWidth,
      (img as HTMLImageElement).naturalHeight,
    ]);
    assert.deepEqual(turned, [240, 320]);
    await screenshot(page, 'web-flow-2-previews');
  });

  it('uploads and shows each reach completed or failed with its reason, without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    await page.click('#upload');
    const done = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 120_000);
    assert.deepEqual(
      done.map((c) => c.statusText),
      ['Completed 800×600', 'Completed 400×600', 'Completed 450×600', 'Completed 800×400', 'Failed', 'Failed'],
    );
    // Found bad on this computer: failed there with the local reason, never sent.
    assert.match(done[4]?.reason ?? '', /^corrupt or truncated image data \(.*\(checked on this computer\)$/);
    assert.match(done[5]?.reason ?? '', /^not a JPEG, PNG, WebP, HEIC\/HEIF, TIFF or GIF image.*\(checked on this computer\)$/);
    assert.ok(
      done.slice(0, 4).every((c) => c.id !== null),
      'every photo has its backend id',
    );
    assert.ok(
      done.slice(4).every((c) => c.id === null),
      'the files refused here were not uploaded',
    );
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
    await page.waitForFunction(() => document.body.dataset.batchFinished === 'true');
    assert.match(await noticeText(page), /Batch finished: 4 completed, 2 failed/);
    await screenshot(page, 'web-flow-3-done');
  });

  it('downloads one result as a JPEG attachment', async () => {
    const download = page.waitForEvent('download');
    await page.click('#cards li.card:nth-child(1) button[data-action="download"]');
    const file = await saveDownload(await download, work);
    assert.equal(path.basename(file), 'landscape_800x600.jpg');
    assert.deepEqual(await jpegSize(file), ['jpeg', 800, 600]);
    await waitForCards(page, (cs) => (cs[0]?.note ?? '').includes('Saved landscape_800x600.jpg'));
  });

  it('downloads all as one ZIP streamed by the backend, every entry a JPEG of the right size', async () => {
    const before = downloads.length;
    const download = page.waitForEvent('download');
    await page.click('#download-all');
    const zipDownload = await download;
    const batchId = await page.evaluate(() => document.getElementById('batch-id')?.textContent ?? '');
    assert.match(zipDownload.url(), /\/api\/v1\/batches\/[0-9a-f-]{36}\/zip$/, 'straight from the backend, not a blob built in the page');
    assert.equal(zipDownload.suggestedFilename(), `imgfleet-${batchId.replace('Batch ', '')}.zip`);
    const zip = await saveDownload(zipDownload, work);
    const entries = await readZip(zip);
    const expected: Record<string, [number, number]> = {
      'landscape_800x600.jpg': [800, 600],
      'portrait_400x600.jpg': [400, 600],
      'turned_450x600.jpg': [450, 600],
      'really-a-png_800x400.jpg': [800, 400],
    };
    assert.deepEqual(entries.map((e) => e.name).sort(), Object.keys(expected).sort());
    for (const entry of entries) assert.deepEqual(await jpegSize(entry.data), ['jpeg', ...expected[entry.name]!], entry.name);
    assert.match(await noticeText(page), /Downloading 4 results as one ZIP: imgfleet-[0-9a-f]{8}\.zip/);
    assert.equal(downloads.length, before + 1, 'one download for the whole batch, not one per file');
  });

  it('answers the earlier status page with a working download link', async () => {
    const [completed] = await cardStates(page);
    // The page does not send files it found bad: another client sends the two, and the cluster fails them.
    const failed = await uploadDirectly(backend, [path.join(work, 'broken.jpg'), path.join(work, 'not-a-photo.jpg')]);
    const status = await app.context.newPage();
    try {
      await status.goto(`${backend.url}/status/${completed!.id}`);
      assert.match((await status.textContent('h1')) ?? '', /completed/);
      assert.match((await status.textContent('table')) ?? '', /landscape\.jpg[\s\S]*4000 × 3000[\s\S]*800 × 600/);
      await screenshot(status, 'web-flow-4-status-page');
      const download = status.waitForEvent('download');
      await status.click('text=Download the resized image');
      const file = await saveDownload(await download, await fs.mkdtemp(path.join(work, 'status-')));
      assert.deepEqual(await jpegSize(file), ['jpeg', 800, 600]);

      await status.goto(`${backend.url}/status/${failed.id}`);
      assert.match((await status.textContent('h1')) ?? '', /failed/);
      assert.match((await status.textContent('table')) ?? '', /corrupt or truncated image data/);
      assert.equal(await status.locator('text=Download the resized image').count(), 0, 'no link for a failed image');
    } finally {
      await status.close();
    }
  });

  it('answers /dashboard to a browser with the statistics page and its charts', async () => {
    const dashboard = await app.context.newPage();
    try {
      const response = await dashboard.goto(`${backend.url}/dashboard`);
      assert.match(response?.headers()['content-type'] ?? '', /text\/html/);
      await dashboard.waitForFunction(() => document.getElementById('stat-total')?.textContent === '6', undefined, { timeout: 20_000 });
      assert.equal(await dashboard.textContent('#stat-completed'), '4');
      assert.equal(await dashboard.textContent('#stat-failed'), '2');
      assert.equal(await dashboard.locator('#recent-body tr').count(), 6);
      // Nine since issue 12: the pod's own six (CPU, memory, network, queue, threads, throughput), and since
      // issue 23 what the function computes, here the bundled one on one node: the cores' moving average and two percentages.
      assert.equal(POD_CHARTS.length, 6);
      await dashboard.waitForFunction(() => document.querySelectorAll('#charts canvas').length === 9, undefined, { timeout: 20_000 });
      assert.equal(await dashboard.getAttribute('#back-to-app', 'href'), './', 'a way back to the photos');
      await dashboard.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 20_000 });
      await screenshot(dashboard, 'web-flow-5-dashboard');
    } finally {
      await dashboard.close();
    }
  });

  it('opens the metrics view, which charts the live stream', async () => {
    const popup = page.waitForEvent('popup');
    await page.click('#open-metrics');
    const metrics = await popup;
    try {
      await metrics.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 20_000 });
      assert.match((await metrics.textContent('#pods')) ?? '', /1 pod: web-flow · source in-process/);
      // Samples keep arriving (every 0.5 s): the queue chart draws the pod's line once there are two.
      await metrics.waitForFunction(() => document.body.dataset.connection === 'open');
      let pixels = 0;
      for (let i = 0; i < 200 && pixels < 20; i++) {
        pixels = await pixelsOfColour(metrics, 'figure[data-metric="queue"] canvas', FIRST_POD_RGB);
        if (pixels < 20) await metrics.waitForTimeout(100);
      }
      assert.ok(pixels >= 20, `the queue chart drew the pod's line (${pixels} pixels)`);
      await screenshot(metrics, 'web-flow-6-metrics');
    } finally {
      await metrics.close();
    }
    assert.deepEqual(app.pageErrors, []);
  });
});
