/**
 * A photo deleted on the server while the app's event stream was down (the
 * backend unreachable, here a real HTTP proxy in front of it gone down) has
 * no `deleted` event to learn it from: on reconnection both apps re-read the
 * batch, ask about each photo the listing lacks, and put a deleted one back
 * in the queue with a note, while a photo still on the server keeps its
 * card. The desktop window (real renderer and main-process handlers) and the
 * web page in a plain browser, each against a real backend.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { writePhotos } from '../support/fixtures.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';
import { cardStates, dropPaths, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { openWebApp, type WebApp } from '../support/web-page.js';
import { startWindowBehindProxy, type WindowBehindProxy } from '../support/window-behind-proxy.js';

const connection = (page: Page): Promise<string | undefined> => page.evaluate(() => document.body.dataset.connection);

/** Both photos completed; then, with the proxy down, one is deleted behind the app's back and the proxy comes back. */
async function deleteWhileOffline(page: Page, backend: TestBackend, proxy: HttpProxy, uploadedAt: number): Promise<{ deleted: string; kept: string }> {
  const cards = await waitForCards(page, (cs) => cs.length === 2 && cs.every((c) => c.status === 'completed'), 60_000);
  const [gone, stays] = [cards[0]!, cards[1]!];
  // The apps also re-read the batch shortly after a completion (for the results' sizes): that one must be
  // over before the deletion, so that only the reconnection's re-read can find it.
  const listed = () => proxy.requests.slice(uploadedAt).some((r) => r.method === 'GET' && r.path.startsWith('/api/v1/images?'));
  while (!listed()) await page.waitForTimeout(50);
  proxy.setDown(true);
  await page.waitForFunction(() => document.body.dataset.connection === 'offline', undefined, { timeout: 30_000 });
  // Straight to the backend: the app cannot hear of it.
  assert.equal((await fetch(`${backend.url}/api/v1/images/${gone.id}`, { method: 'DELETE' })).status, 204);
  // Still shown as completed while offline: nothing told the app yet.
  assert.equal((await cardStates(page)).find((c) => c.name === gone.name)?.status, 'completed');
  proxy.setDown(false);
  return { deleted: gone.name, kept: stays.name };
}

async function assertRequeued(page: Page, names: { deleted: string; kept: string }): Promise<void> {
  const cards = await waitForCards(page, (cs) => cs.find((c) => c.name === names.deleted)?.status === 'queued', 30_000);
  const requeued = cards.find((c) => c.name === names.deleted)!;
  assert.equal(requeued.id, null);
  assert.match(requeued.note ?? '', /Deleted on the server: Upload sends it again/);
  assert.match((await page.textContent('#notice')) ?? '', /A photo was deleted on the server/);
  assert.equal(await connection(page), 'open');
  const kept = cards.find((c) => c.name === names.kept)!;
  assert.equal(kept.status, 'completed', 'the photo still on the server keeps its card');
  assert.notEqual(kept.id, null);
}

describe('a photo deleted while the app was offline', () => {
  let work: string;

  before(async () => {
    work = await tempDir('deleted-while-offline');
  });

  after(async () => {
    await removeDir(work);
  });

  describe('desktop window', () => {
    let app: WindowBehindProxy;
    let backend: TestBackend;
    let proxy: HttpProxy;
    let page: Page;

    before(async () => {
      app = await startWindowBehindProxy('offline-delete-window');
      ({ backend, proxy, page } = app);
    });

    after(async () => {
      await app?.close();
    });

    it('goes back to the queue when the window reconnects; the other keeps its card', async () => {
      const photos = await writePhotos(path.join(work, 'window'), [
        { name: 'gone.jpg', width: 1200, height: 900, seed: 11 },
        { name: 'stays.jpg', width: 1200, height: 900, seed: 12 },
      ]);
      await dropPaths(page, photos);
      await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
      const uploadedAt = proxy.requests.length;
      await page.keyboard.press('Control+u');
      await assertRequeued(page, await deleteWhileOffline(page, backend, proxy, uploadedAt));
    });

    it('puts the rest back too when their whole batch was deleted while offline', async () => {
      const stays = (await cardStates(page)).find((c) => c.name === 'stays.jpg')!;
      const { batchId } = (await (await fetch(`${backend.url}/api/v1/images/${stays.id}`)).json()) as { batchId: string };
      proxy.setDown(true);
      await page.waitForFunction(() => document.body.dataset.connection === 'offline', undefined, { timeout: 30_000 });
      assert.equal((await fetch(`${backend.url}/api/v1/batches/${batchId}`, { method: 'DELETE' })).status, 200);
      const back = proxy.requests.length;
      proxy.setDown(false);
      const cards = await waitForCards(page, (cs) => cs.every((c) => c.status === 'queued'), 30_000);
      assert.deepEqual(
        cards.map((c) => c.id),
        [null, null],
      );
      // The empty listing says it for all of them: no question per photo.
      assert.deepEqual(
        proxy.requests.slice(back).filter((r) => /^\/api\/v1\/images\/\d+/.test(r.path)),
        [],
      );
      assert.match(cards.find((c) => c.name === 'stays.jpg')?.note ?? '', /Deleted on the server: Upload sends it again/);
    });
  });

  describe('web page in a plain browser', () => {
    let backend: TestBackend;
    let proxy: HttpProxy;
    let app: WebApp;

    before(async () => {
      backend = await startTestBackend({ POD_NAME: 'offline-delete-web' });
      proxy = await startHttpProxy(backend.url);
      app = await openWebApp(proxy.url);
      await app.page.waitForFunction(() => document.body.dataset.connection === 'open');
    });

    after(async () => {
      await app?.close();
      await proxy?.close();
      await backend?.stop();
    });

    it('goes back to the queue when the page reconnects; the other keeps its card', async () => {
      const { page } = app;
      const photos = await writePhotos(path.join(work, 'web'), [
        { name: 'web-gone.jpg', width: 1200, height: 900, seed: 13 },
        { name: 'web-stays.jpg', width: 1200, height: 900, seed: 14 },
      ]);
      const chooser = page.waitForEvent('filechooser');
      await page.click('#add-files');
      await (await chooser).setFiles(photos);
      await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
      const uploadedAt = proxy.requests.length;
      await page.click('#upload');
      await assertRequeued(page, await deleteWhileOffline(page, backend, proxy, uploadedAt));
      assert.deepEqual(app.pageErrors, []);
    });
  });
});
