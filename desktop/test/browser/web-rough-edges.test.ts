/**
 * The web page's rough edges a new user met (issue 21), in a real Chromium
 * against the real backend: accessible names (asserted on Playwright's ARIA
 * snapshot) and one polite live region for the cards' status changes; a
 * transparent PNG previews on the result's background; a naming template
 * changed after the upload says when it applies; sizes in decimal units;
 * the options folded on a phone-sized screen; the formats named from the
 * one list.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { images } from '../support/backend-support.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { cardNamed, cardStates, leftHalfShades, previewPixel, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { launchPlainBrowser, noticeText, openWebApp, screenshot, type WebApp } from '../support/web-page.js';
import { INPUT_FORMATS, formatNames, formatShortList } from '../../src/shared/input-formats.js';

async function pick(page: Page, files: string[]): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await page.click('#add-files');
  await (await chooser).setFiles(files);
}

/** Decimal units, as macOS and most Linux file managers show sizes. */
function decimal(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const [value, unit] = bytes < 1e6 ? [bytes / 1e3, 'kB'] : [bytes / 1e6, 'MB'];
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

describe('web page: rough edges', () => {
  let backend: TestBackend;
  let app: WebApp;
  let page: Page;
  let work: string;

  before(async () => {
    work = await tempDir('web-rough-edges');
    backend = await startTestBackend({ POD_NAME: 'web-rough-edges' });
    app = await openWebApp(backend.url);
    page = app.page;
    // Every text the one live region speaks, in order.
    await page.evaluate(() => {
      const spoken: string[] = [];
      (window as unknown as { __spoken: string[] }).__spoken = spoken;
      const region = document.getElementById('announcer');
      if (region) new MutationObserver(() => spoken.push(region.textContent ?? '')).observe(region, { childList: true, characterData: true, subtree: true });
    });
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
  });

  after(async () => {
    await app?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('names the formats it takes from the one list, in the empty state and the tooltips', async () => {
    const names = formatNames();
    assert.ok(INPUT_FORMATS.length >= 3 && names.includes('JPEG') && names.includes('PNG') && names.includes('WebP'), names);
    assert.match((await page.textContent('#empty-state')) ?? '', new RegExp(`Drop ${names} photos or folders here`));
    assert.doesNotMatch((await page.textContent('#empty-state')) ?? '', /\bJPGs?\b/);
    assert.equal(await page.getAttribute('#add-files', 'title'), `Add photos: ${formatShortList()} (Ctrl+O)`);
    assert.equal(await page.getAttribute('#add-folder', 'title'), `Add a folder of photos: ${formatShortList()} (Ctrl+Shift+O)`);
  });

  it('gives every control and picture an accessible name, and announces status changes in one polite region', async () => {
    const [good] = await writePhotos(work, [{ name: 'good.jpg', width: 1200, height: 900, seed: 2 }]);
    const bad = await writeTruncatedPhoto(path.join(work, 'bad.jpg'));
    await pick(page, [good!, bad]);
    await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
    await page.click('#upload');
    await waitForCards(page, (cs) => cs.some((c) => c.status === 'completed'), 60_000);

    const goodCard = await cardNamed(page, 'good.jpg').ariaSnapshot();
    assert.match(goodCard, /- img "Preview of good\.jpg"/);
    assert.match(goodCard, /- button "Download good\.jpg"/);
    assert.match(goodCard, /- button "Remove good\.jpg"/);
    const badCard = await cardNamed(page, 'bad.jpg').ariaSnapshot();
    assert.match(badCard, /- button "Remove bad\.jpg"/);
    assert.doesNotMatch(badCard, /- button "Retry/, 'no Retry for what the check refused');
    assert.match(await page.locator('.summary').ariaSnapshot(), /- progressbar "Progress of the batch"/);
    const labels = await page.$$eval('#cards progress', (bars) => bars.map((b) => b.getAttribute('aria-label')));
    assert.deepEqual(labels, ['Upload of good.jpg', 'Upload of bad.jpg']);

    // One live region for every card, polite; none inside the cards.
    assert.equal(await page.locator('#cards [aria-live]').count(), 0);
    assert.equal(await page.getAttribute('#announcer', 'aria-live'), 'polite');
    await page.waitForFunction(() => (window as unknown as { __spoken: string[] }).__spoken.some((t) => t.includes('good.jpg completed')));
    const spoken = await page.evaluate(() => (window as unknown as { __spoken: string[] }).__spoken);
    assert.ok(
      spoken.some((t) => t.includes('bad.jpg failed')),
      spoken.join(' | '),
    );
  });

  it('shows sizes in decimal units', async () => {
    const cards = await cardStates(page);
    const good = cards.find((c) => c.name === 'good.jpg')!;
    const original = (await fs.stat(path.join(work, 'good.jpg'))).size;
    // The result's bytes come with the re-read that follows a burst of completions.
    await cardNamed(page, 'good.jpg').locator('.size.saving').waitFor();
    const shown = (await cardNamed(page, 'good.jpg').locator('.size').textContent()) ?? '';
    assert.ok(shown.startsWith(`${decimal(original)} → `), `${shown} starts with ${decimal(original)}`);
    assert.equal(good.status, 'completed');
  });

  it('says a naming template changed after the upload applies to the next upload', async () => {
    await page.fill('#options-form input[name="template"]', 'renamed-{name}.{ext}');
    await page.dispatchEvent('#options-form input[name="template"]', 'change');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('next upload'));
    assert.equal(
      await noticeText(page),
      'New file names (renamed-{name}.{ext}) apply to the next upload: the photos already uploaded keep the names chosen when they were sent. Clear starts a new batch.',
    );
  });

  it('previews a transparent PNG on the background of the result', async () => {
    await page.click('#clear');
    const png = path.join(work, 'clear.png');
    await fs.writeFile(png, await images.makeImage({ width: 600, height: 400, format: 'png', alpha: true }));
    await pick(page, [png]);
    await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.hasPreview);
    const [r, g, b] = await previewPixel(page, 'clear.png', 0.25, 0.5);
    assert.ok(r > 245 && g > 245 && b > 245, `JPEG: the transparent half shows white, as the result will (${r},${g},${b})`);
    await page.selectOption('#options-form select[name="format"]', 'png');
    await page.waitForFunction(() => document.querySelector('#cards')?.getAttribute('data-output-alpha') === 'true');
    assert.deepEqual(await leftHalfShades(page, 'clear.png'), ['dark', 'light'], 'PNG keeps the transparency: a checkerboard shows through');
    await page.selectOption('#options-form select[name="format"]', 'jpeg');
    assert.deepEqual(app.pageErrors, []);
  });

  it('folds the options on a phone-sized screen, and opens them on a wide one', async () => {
    const browser = await launchPlainBrowser();
    try {
      const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await phone.goto(`${backend.url}/`);
      await phone.waitForFunction(() => document.body.dataset.ready === 'true');
      assert.equal(await phone.$eval('#options-panel details', (d) => (d as HTMLDetailsElement).open), false);
      const panel = await phone.locator('#options-panel').boundingBox();
      assert.ok(panel && panel.height < 80, `folded to its summary line (${panel?.height} px)`);
      const drop = await phone.locator('#empty-state').boundingBox();
      assert.ok(drop && drop.y < 844, 'the drop zone is on the first screen');
      await screenshot(phone, 'web-rough-edges-phone');
      const wide = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      await wide.goto(`${backend.url}/`);
      await wide.waitForFunction(() => document.body.dataset.ready === 'true');
      assert.equal(await wide.$eval('#options-panel details', (d) => (d as HTMLDetailsElement).open), true);
    } finally {
      await browser.close();
    }
  });
});
