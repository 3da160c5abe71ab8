/**
 * HEIC, TIFF and GIF in the web page: Chromium decodes GIF itself; for HEIC
 * and TIFF, which it cannot decode, the size comes from the header (a
 * phone's rotation included), the card promises the server's size and says
 * the preview comes after upload, and the upload completes with the
 * server's decoder, whose result then stands in the card.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { heif, images } from '../support/backend-support.js';
import { previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { dropPathsNatively, openWebApp, screenshot, type WebApp } from '../support/web-page.js';

describe('web UI in a plain browser: HEIC, TIFF and GIF', () => {
  let backend: TestBackend;
  let app: WebApp;
  let page: Page;
  let work: string;

  before(async () => {
    work = await tempDir('web-inputs');
    const photo = await images.makeImage({ width: 1600, height: 1200, seed: 12, grain: 6 });
    const phone = heif.withRotation(await heif.makeHeic(await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer()), 3);
    await fs.mkdir(path.join(work, 'in'), { recursive: true });
    await fs.writeFile(path.join(work, 'in', 'IMG_0001.HEIC'), phone);
    await fs.writeFile(path.join(work, 'in', 'scan.tif'), await sharp(photo).tiff({ compression: 'lzw' }).toBuffer());
    await fs.writeFile(path.join(work, 'in', 'wave.gif'), await sharp(photo).resize(400).gif().toBuffer());
    backend = await startTestBackend({ POD_NAME: 'web-inputs' });
    app = await openWebApp(backend.url);
    page = app.page;
  });
  after(async () => {
    await app?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it("checks them on this computer, promises the server's size, and the server makes it", async () => {
    await dropPathsNatively(page, [path.join(work, 'in')]);
    const cards = await waitForCards(page, (cs) => cs.length === 3 && cs.every(previewSettled));
    const dims = Object.fromEntries(cards.map((c) => [c.name, c.dims]));
    assert.deepEqual(dims, { 'IMG_0001.HEIC': '1200×1600 → 450×600', 'scan.tif': '1600×1200 → 800×600', 'wave.gif': '400×300 → 400×300' });
    assert.ok(
      cards.every((c) => c.hasPreview && !c.reason),
      JSON.stringify(cards),
    );
    await page.click('#upload');
    const done = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 120_000);
    assert.deepEqual(done.map((c) => [c.name, c.status]).sort(), [
      ['IMG_0001.HEIC', 'completed'],
      ['scan.tif', 'completed'],
      ['wave.gif', 'completed'],
    ]);
    // The stand-ins give way to the server's results; the GIF keeps the browser's own preview.
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLLIElement>('#cards li.card')]
        .filter((card) => /\.(HEIC|tif)$/.test(card.querySelector('.name')?.textContent ?? ''))
        .every((card) => {
          const img = card.querySelector<HTMLImageElement>('.thumb img')!;
          return img.src.includes('/processed') && img.complete && img.naturalWidth > 0;
        }),
    );
    const thumbs = await page.$$eval('#cards li.card', (cards) =>
      Object.fromEntries(
        cards.map((card) => {
          const img = card.querySelector<HTMLImageElement>('.thumb img')!;
          return [
            card.querySelector('.name')?.textContent ?? '',
            `${img.src.includes('/processed') ? 'server' : 'browser'} ${img.naturalWidth}×${img.naturalHeight}`,
          ];
        }),
      ),
    );
    assert.deepEqual(thumbs, { 'IMG_0001.HEIC': 'server 450×600', 'scan.tif': 'server 800×600', 'wave.gif': 'browser 320×240' });
    await screenshot(page, 'web-inputs');
  });
});
