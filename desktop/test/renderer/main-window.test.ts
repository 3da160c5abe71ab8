/**
 * The real main window in headless Chromium, the real main-process handler
 * map behind it, a real backend on a real Postgres: drop a folder, see the
 * previews, upload, watch the statuses arrive live, download, retry.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { AppHarness } from '../support/app-harness.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import { cardStates, dropPaths, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

const PHOTOS = [
  { name: 'beach.jpg', width: 4000, height: 3000, expect: [800, 600] },
  { name: 'portrait.JPG', width: 1600, height: 1200, orientation: 6, expect: [450, 600] },
  { name: 'small.jpeg', width: 600, height: 400, expect: [600, 400] },
  { name: 'trip/day1/panorama.jpg', width: 3000, height: 1000, expect: [800, 267] },
  { name: 'trip/day2/square.jpg', width: 1200, height: 1200, expect: [600, 600] },
] as const;

describe('main window with the real backend', () => {
  let backend: TestBackend;
  let harness: AppHarness;
  let work: string;
  let photos: string;
  let output: string;
  let page: Page;

  before(async () => {
    work = await tempDir('main-window');
    photos = path.join(work, 'photos');
    output = path.join(work, 'results');
    await writePhotos(
      photos,
      PHOTOS.map((p, i) => ({ ...p, seed: i + 10 })),
    );
    await writeTruncatedPhoto(path.join(photos, 'trip', 'broken.jpg'));
    await fs.writeFile(path.join(photos, 'notes.txt'), 'not a photo');
    backend = await startTestBackend();
    harness = await AppHarness.start({ settings: { backendUrl: backend.url, outputFolder: output } });
    page = await harness.openMainWindow();
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
  });

  after(async () => {
    await harness?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('shows a card with a local preview and the target size for every JPG of a dropped folder', async () => {
    await dropPaths(page, [photos]);
    const cards = await waitForCards(page, (cs) => cs.length === 6 && cs.every(previewSettled));
    const byName = new Map(cards.map((c) => [c.name, c]));
    assert.equal(byName.get('beach.jpg')?.dims, '4000×3000 → 800×600');
    assert.equal(byName.get('portrait.JPG')?.dims, '1200×1600 → 450×600', 'EXIF orientation applied');
    assert.equal(byName.get('small.jpeg')?.dims, '600×400 → 600×400', 'never enlarged');
    for (const photo of PHOTOS) {
      const card = byName.get(path.basename(photo.name))!;
      assert.ok(card.hasPreview, `${photo.name} has a decoded preview image`);
      assert.equal(card.status, 'queued');
      assert.equal(card.statusText, 'Queued');
    }
    const broken = byName.get('broken.jpg')!;
    assert.equal(broken.hasPreview, false);
    assert.match(broken.reason ?? '', /truncated/i, 'the local check already names the problem');
    // The local check applies the backend's rules: the file can only fail, so it is failed here and never sent.
    assert.equal(broken.status, 'failed');
    assert.match((await page.textContent('#notice')) ?? '', /Added 6 photos · 1 other file ignored/);
    assert.match((await page.textContent('#summary-text')) ?? '', /6 files · 5 queued · 1 failed/);
    await harness.screenshot(page, 'main-window-previews');
  });

  it('uploads with Ctrl+U and shows every status change live until completed or failed', async () => {
    // Watch the live events the page receives, to prove statuses come over SSE rather than a re-read.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __seen: string[] }).__seen = seen;
      window.imgfleet!.on('events:status', (event) => seen.push(`${event.filename}:${event.status}`));
    });
    await page.keyboard.press('Control+u');
    const cards = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 90_000);

    const byName = new Map(cards.map((c) => [c.name, c]));
    for (const photo of PHOTOS) {
      const card = byName.get(path.basename(photo.name))!;
      assert.equal(card.status, 'completed', `${photo.name}: ${card.reason}`);
      assert.equal(card.statusText, `Completed ${photo.expect[0]}×${photo.expect[1]}`);
      assert.ok(card.id !== null && card.id > 0);
    }
    const broken = byName.get('broken.jpg')!;
    assert.equal(broken.status, 'failed');
    assert.match(broken.reason ?? '', /corrupt or truncated.*\(checked on this computer\)/i, 'the local reason is shown');
    assert.equal(broken.id, null, 'never sent to the backend');

    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    for (const photo of PHOTOS) assert.ok(seen.includes(`${path.basename(photo.name)}:completed`), `live completed event for ${photo.name}`);
    assert.ok(!seen.some((s) => s.startsWith('broken.jpg:')), 'no event for a file that was not sent');

    assert.match((await page.textContent('#summary-text')) ?? '', /6 files · 5 completed · 1 failed/);
    assert.equal(await page.$eval('#overall-progress', (p) => (p as HTMLProgressElement).value), 6);
    await page.waitForFunction(() => document.body.dataset.batchFinished === 'true');
    assert.deepEqual(harness.notifications.at(-1), { title: 'imgfleet: batch finished', body: '5 completed, 1 failed' });
    await harness.screenshot(page, 'main-window-completed');
    // The system's dark theme is followed (prefers-color-scheme).
    await page.emulateMedia({ colorScheme: 'dark' });
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(21, 24, 29)');
    await harness.screenshot(page, 'main-window-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('downloads every result with Ctrl+Shift+S as valid JPEGs of the right size, never overwriting', async () => {
    await page.keyboard.press('Control+Shift+S');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Downloaded 5 files'));
    // The dropped folder's structure is kept (keepFolders, on by default): photos/…, photos/trip/day1/….
    const files = (await fs.readdir(output, { recursive: true }))
      .filter((f) => f.endsWith('.jpg'))
      .map((f) => f.split(path.sep).join('/'))
      .sort();
    assert.deepEqual(files, [
      'photos/beach_800x600.jpg',
      'photos/portrait_450x600.jpg',
      'photos/small_600x400.jpg',
      'photos/trip/day1/panorama_800x267.jpg',
      'photos/trip/day2/square_600x600.jpg',
    ]);
    for (const photo of PHOTOS) {
      const base = photo.name.replace(/\.[^.]+$/, '');
      const file = path.join(output, 'photos', `${base}_${photo.expect[0]}x${photo.expect[1]}.jpg`);
      const meta = await sharp(file).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.deepEqual([meta.width, meta.height], [...photo.expect]);
    }
    const cards = await cardStates(page);
    assert.ok(cards.filter((c) => c.status === 'completed').every((c) => c.note?.startsWith(`Saved ${output}`)));

    // Again: the existing files stay, the new ones get " (1)".
    await page.click('#download-all');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.note')]
        .map((n) => n.textContent)
        .join()
        .includes('(1)'),
    );
    await page.waitForFunction(() => !(document.getElementById('download-all') as HTMLButtonElement).disabled);
    const again = (await fs.readdir(output, { recursive: true })).filter((f) => f.endsWith('.jpg')).map((f) => f.split(path.sep).join('/'));
    assert.equal(again.length, 10);
    assert.ok(again.includes('photos/beach_800x600 (1).jpg'));
    assert.ok(again.includes('photos/trip/day1/panorama_800x267 (1).jpg'));

    await page.click('#open-folder');
    assert.deepEqual(harness.opened, [output]);
  });

  it('offers no Retry for what the decoder refused; retries a passing failure on the cluster and shows the outcome again', async () => {
    // A photo that passed the local check and was damaged on disk before the upload: the cluster fails it.
    const [changed] = await writePhotos(path.join(work, 'later'), [{ name: 'changed.jpg', width: 1600, height: 1200, seed: 42 }]);
    await dropPaths(page, [changed!]);
    await waitForCards(page, (cs) => cs.find((c) => c.name === 'changed.jpg')?.dims === '1600×1200 → 800×600');
    await writeTruncatedPhoto(changed!);
    await page.keyboard.press('Control+u');
    const failed = await waitForCards(page, (cs) => cs.find((c) => c.name === 'changed.jpg')?.status === 'failed', 60_000);
    const failedEvents = (): Promise<number> =>
      page.evaluate(() => (window as unknown as { __seen: string[] }).__seen.filter((s) => s === 'changed.jpg:failed').length);
    assert.equal(await failedEvents(), 1);
    // The decoder refused these bytes: they would only be refused again.
    assert.equal(await page.isHidden('#cards li.card[data-status="failed"] button[data-action="retry"][aria-label="Retry changed.jpg"]'), true);
    assert.equal(await page.isDisabled('#retry-failed'), true, 'nothing a retry could cure');

    // Taken again and its worker crashed instead (as the crash recovery writes it): another try may cure that.
    const id = failed.find((c) => c.name === 'changed.jpg')!.id!;
    await backend.sql(`UPDATE processed_images SET status = 'processing', error = NULL, error_code = NULL WHERE id = $1`, [id]);
    await backend.sql(`UPDATE processed_images SET status = 'failed', error = 'the worker thread crashed', error_code = 'WORKER_CRASHED' WHERE id = $1`, [id]);
    await page.waitForFunction(() => (window as unknown as { __seen: string[] }).__seen.filter((s) => s === 'changed.jpg:failed').length === 2);
    await page.waitForFunction(() => !(document.getElementById('retry-failed') as HTMLButtonElement).disabled);
    await page.click('#retry-failed');
    // The image goes back through the cluster's queue (pending → processing) and fails again, live.
    await page.waitForFunction(() => (window as unknown as { __seen: string[] }).__seen.filter((s) => s === 'changed.jpg:failed').length === 3, undefined, {
      timeout: 30_000,
    });
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen.filter((s) => s.startsWith('changed.jpg:')));
    const crashed = seen.indexOf('changed.jpg:failed', seen.indexOf('changed.jpg:failed') + 1);
    assert.deepEqual(seen.slice(crashed + 1).at(0), 'changed.jpg:pending');
    const cards = await waitForCards(page, (cs) => cs.find((c) => c.name === 'changed.jpg')?.status === 'failed');
    assert.match(cards.find((c) => c.name === 'changed.jpg')?.reason ?? '', /corrupt or truncated/i);
    assert.equal(cards.find((c) => c.name === 'broken.jpg')?.id, null, 'Retry failed leaves out what the local check refused');
  });

  it('sends a photo deleted on the server back to the queue, and uploads it again', async () => {
    const beach = (await cardStates(page)).find((c) => c.name === 'beach.jpg')!;
    assert.equal(beach.status, 'completed');
    assert.equal((await fetch(`${backend.url}/api/v1/images/${beach.id}`, { method: 'DELETE' })).status, 204);
    const cards = await waitForCards(page, (cs) => cs.find((c) => c.name === 'beach.jpg')?.status === 'queued');
    const requeued = cards.find((c) => c.name === 'beach.jpg')!;
    assert.equal(requeued.id, null);
    assert.match(requeued.note ?? '', /Deleted on the server: Upload sends it again/);
    assert.match((await page.textContent('#notice')) ?? '', /A photo was deleted on the server/);
    assert.ok(
      cards.filter((c) => c.name !== 'beach.jpg' && c.id !== null).every((c) => c.status !== 'queued'),
      'the others are untouched',
    );
    await page.keyboard.press('Control+u');
    const again = await waitForCards(page, (cs) => cs.find((c) => c.name === 'beach.jpg')?.status === 'completed', 60_000);
    const stored = again.find((c) => c.name === 'beach.jpg')!;
    assert.ok(stored.id !== null && stored.id !== beach.id, 'stored again, as a new image');
  });

  it('removes a card, clears into a new batch, and raised no page errors', async () => {
    const before = await cardStates(page);
    await page.click(`#cards li.card:first-child button[data-action="remove"]`);
    await waitForCards(page, (cs) => cs.length === before.length - 1);
    const batchBefore = await page.textContent('#batch-id');
    await page.click('#clear');
    await waitForCards(page, (cs) => cs.length === 0);
    assert.notEqual(await page.textContent('#batch-id'), batchBefore);
    assert.equal(await page.isVisible('#empty-state'), true);
    assert.deepEqual(harness.pageErrors, []);
  });
});
