/**
 * The desktop window's rough edges a new user met (issue 21), in the real
 * window against the real backend behind a real HTTP proxy: Retry is not
 * offered for a decoder's refusal and shows that it ran; Cancel counts the
 * files the backend stored though their answers never came back; a
 * transparent PNG previews on the background of the result; a failed card
 * does not repeat its reason after "Resize locally".
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { promises as fs } from 'node:fs';
import { images } from '../support/backend-support.js';
import { writePhotos, writeTruncatedPhoto } from '../support/fixtures.js';
import type { HttpProxy } from '../support/http-proxy.js';
import { cardNamed, cardStates, dropPaths, leftHalfShades, previewPixel, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import type { TestBackend } from '../support/test-backend.js';
import { startWindowBehindProxy, type WindowBehindProxy } from '../support/window-behind-proxy.js';

/** Cuts an image's stored original to its first 2000 bytes, wherever the blob store keeps it (a file, or the row). */
async function damageOriginal(backend: TestBackend, id: number): Promise<void> {
  const [row] = await backend.sql<{ original_key: string | null }>('SELECT original_key FROM processed_images WHERE id = $1', [id]);
  if (row?.original_key) await fs.truncate(path.join(backend.blobDir, row.original_key), 2000);
  else await backend.sql('UPDATE processed_images SET original_data = substring(original_data from 1 for 2000) WHERE id = $1', [id]);
}

const retryButton = (page: Page, name: string) => cardNamed(page, name).locator('button[data-action="retry"]');

describe('desktop window: rough edges', () => {
  let app: WindowBehindProxy;
  let backend: TestBackend;
  let proxy: HttpProxy;
  let page: Page;
  let work: string;

  before(async () => {
    work = await tempDir('rough-edges-window');
    app = await startWindowBehindProxy('window-rough-edges', { settings: { uploadConcurrency: 2, outputFolder: path.join(work, 'out') } });
    ({ backend, proxy, page } = app);
  });

  after(async () => {
    await app?.close();
    await removeDir(work);
  });

  it('offers no Retry for what the decoder refused, and shows that a Retry ran and how it ended', async () => {
    const [good, changed] = await writePhotos(path.join(work, 'retry'), [
      { name: 'good.jpg', width: 1200, height: 900, seed: 3 },
      { name: 'changed.jpg', width: 1600, height: 1200, seed: 4 },
    ]);
    await dropPaths(page, [good!, changed!]);
    await waitForCards(page, (cs) => cs.length === 2 && cs.every((c) => c.hasPreview));
    // Damaged on disk after the check on this computer: the cluster's decoder refuses it.
    await writeTruncatedPhoto(changed!);
    await page.keyboard.press('Control+u');
    let cards = await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed' || c.status === 'failed'), 60_000);
    const byName = new Map(cards.map((c) => [c.name, c]));
    assert.equal(byName.get('changed.jpg')?.status, 'failed');
    assert.match(byName.get('changed.jpg')?.reason ?? '', /corrupt or truncated/i);
    assert.equal(await retryButton(page, 'changed.jpg').isHidden(), true, 'the same bytes would fail again: no Retry');
    assert.equal(await page.isDisabled('#retry-failed'), true, 'nothing that a retry could cure');

    // A failure another try may cure (its worker crashed): Retry is offered, named for the photo.
    const id = byName.get('good.jpg')!.id!;
    await backend.sql(`UPDATE processed_images SET status = 'failed', error = 'the worker thread crashed', error_code = 'WORKER_CRASHED' WHERE id = $1`, [id]);
    await waitForCards(page, (cs) => cs.find((c) => c.name === 'good.jpg')?.status === 'failed');
    assert.equal(await retryButton(page, 'good.jpg').getAttribute('aria-label'), 'Retry good.jpg');
    assert.equal(await page.isDisabled('#retry-failed'), false);
    await retryButton(page, 'good.jpg').click();
    cards = await waitForCards(page, (cs) => cs.find((c) => c.name === 'good.jpg')?.status === 'completed', 60_000);
    assert.equal(cards.find((c) => c.name === 'good.jpg')?.note, 'Completed after Retry');

    // Again, but its stored original is damaged meanwhile: the retry runs and fails again, and says so.
    await damageOriginal(backend, id);
    await backend.sql(`UPDATE processed_images SET status = 'failed', error = 'the worker thread crashed', error_code = 'WORKER_CRASHED' WHERE id = $1`, [id]);
    await waitForCards(page, (cs) => cs.find((c) => c.name === 'good.jpg')?.status === 'failed');
    await retryButton(page, 'good.jpg').click();
    cards = await waitForCards(page, (cs) => (cs.find((c) => c.name === 'good.jpg')?.note ?? '').includes('Failed again after Retry (2 tries)'), 60_000);
    const again = cards.find((c) => c.name === 'good.jpg')!;
    assert.equal(again.status, 'failed');
    assert.match(again.reason ?? '', /corrupt or truncated/i);
    assert.equal(await retryButton(page, 'good.jpg').isHidden(), true, 'now the decoder refused it');
  });

  it('counts in the Cancel notice the files the backend stored though their answers never came', async () => {
    await page.click('#clear');
    const photos = await writePhotos(path.join(work, 'cancel'), [
      { name: 'held-1.jpg', width: 800, height: 600, seed: 21 },
      { name: 'held-2.jpg', width: 800, height: 600, seed: 22 },
      { name: 'unsent.jpg', width: 800, height: 600, seed: 23 },
    ]);
    // The backend takes the first two files and answers; the answers never reach the app.
    proxy.setUploadFault(() => 'hold-answer');
    await dropPaths(page, photos);
    await waitForCards(page, (cs) => cs.length === 3 && cs.every(previewSettled));
    await page.evaluate(() => {
      delete document.body.dataset.batchCancelled;
    });
    const before = proxy.uploads().length;
    await page.keyboard.press('Control+u');
    while (proxy.uploads().length - before < 2) await page.waitForTimeout(50);
    const batchId = new URL(proxy.uploads().at(-1)!.path, 'http://x').searchParams.get('batchId');
    // Until both are stored: the app is still waiting for their answers.
    for (;;) {
      const listed = (await (await fetch(`${backend.url}/api/v1/images?batchId=${batchId}`)).json()) as { total: number };
      if (listed.total === 2) break;
      await page.waitForTimeout(100);
    }
    await page.click('#cancel');
    await page.waitForFunction(() => document.body.dataset.batchCancelled === 'true', undefined, { timeout: 60_000 });
    assert.equal(await page.textContent('#notice'), 'Upload cancelled: 2 completed, 0 failed, 1 not uploaded');
    const cards = await cardStates(page);
    assert.deepEqual(
      cards.map((c) => [c.name, c.status]),
      [
        ['held-1.jpg', 'completed'],
        ['held-2.jpg', 'completed'],
        ['unsent.jpg', 'queued'],
      ],
    );
    proxy.setUploadFault(() => 'forward');
    // Upload sends the one left, and stores nothing twice.
    await page.keyboard.press('Control+u');
    await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 60_000);
    const listed = (await (await fetch(`${backend.url}/api/v1/images?batchId=${batchId}`)).json()) as { total: number };
    assert.equal(listed.total, 3);
  });

  it('previews a transparent PNG on the background of the result: flattened for JPEG, a checkerboard for PNG', async () => {
    await page.click('#clear');
    const png = path.join(work, 'alpha', 'clear.png');
    await fs.mkdir(path.dirname(png), { recursive: true });
    // The left half is transparent.
    await fs.writeFile(png, await images.makeImage({ width: 600, height: 400, format: 'png', alpha: true }));
    await dropPaths(page, [png]);
    await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.hasPreview);
    const [r, g, b] = await previewPixel(page, 'clear.png', 0.25, 0.5);
    assert.ok(r > 245 && g > 245 && b > 245, `JPEG: the transparent half shows white, as the result will (${r},${g},${b})`);

    await page.selectOption('#options-form select[name="format"]', 'png');
    await page.waitForFunction(() => document.querySelector('#cards')?.getAttribute('data-output-alpha') === 'true');
    assert.deepEqual(await leftHalfShades(page, 'clear.png'), ['dark', 'light'], 'PNG keeps the transparency: a checkerboard shows through');
    await page.selectOption('#options-form select[name="format"]', 'jpeg');
  });

  it('does not repeat a failed card\'s reason after "Resize locally"', async () => {
    await page.click('#clear');
    const [ok] = await writePhotos(path.join(work, 'local'), [{ name: 'fine.jpg', width: 900, height: 600, seed: 31 }]);
    const broken = await writeTruncatedPhoto(path.join(work, 'local', 'broken.jpg'));
    await dropPaths(page, [ok!, broken]);
    await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
    await page.click('#resize-locally');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Resized locally 1 file'));
    const card = (await cardStates(page)).find((c) => c.name === 'broken.jpg')!;
    assert.match(card.reason ?? '', /corrupt or truncated/i);
    assert.ok(!card.note || !/corrupt or truncated/i.test(card.note), `the reason is shown once (note: ${card.note})`);
    assert.deepEqual(app.harness.pageErrors, []);
  });
});
