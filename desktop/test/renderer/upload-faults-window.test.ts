/**
 * The desktop window (real renderer, real main-process handlers, real
 * backend behind a real HTTP proxy): an upload the backend never answers
 * fails with its reason instead of sitting at 100 %, and the person's Retry
 * reaches the backend with the same Idempotency-Key, carried over IPC; after
 * Cancel the notice says the upload was cancelled.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { AppHarness } from '../support/app-harness.js';
import { writePhotos } from '../support/fixtures.js';
import type { HttpProxy } from '../support/http-proxy.js';
import { dropPaths, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startWindowBehindProxy, type WindowBehindProxy } from '../support/window-behind-proxy.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('desktop window: uploads that get no answer, and Cancel', () => {
  let app: WindowBehindProxy;
  let proxy: HttpProxy;
  let harness: AppHarness;
  let page: Page;
  let work: string;

  before(async () => {
    work = await tempDir('upload-faults-window');
    app = await startWindowBehindProxy('window-faults', {
      settings: { uploadConcurrency: 2 },
      // Long enough for a real answer on a loaded machine (the Retry's), short enough for the stalled one.
      deps: { uploadTimeouts: { responseAfterBodyMs: 4000 }, uploadRetry: { retries: 2, baseDelayMs: 50, maxDelayMs: 100 } },
    });
    ({ proxy, harness, page } = app);
  });

  after(async () => {
    await app?.close();
    await removeDir(work);
  });

  it('fails an unanswered upload with its reason, and retries it as the same request', async () => {
    const [photo] = await writePhotos(path.join(work, 'a'), [{ name: 'unanswered.jpg', width: 1200, height: 900, seed: 5 }]);
    proxy.setUploadFault(() => 'stall');
    await dropPaths(page, [photo!]);
    await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.hasPreview);
    await page.keyboard.press('Control+u');
    const [failed] = await waitForCards(page, (cs) => cs[0]?.status === 'failed', 30_000);
    assert.match(failed?.reason ?? '', /the file was sent, but the backend did not answer within 4 s; retry it/);
    assert.equal(await page.textContent('#eta'), '');
    const stuckKey = proxy.uploads().at(-1)?.headers['idempotency-key'];
    assert.match(String(stuckKey), UUID_V4);
    await harness.screenshot(page, 'upload-faults-no-answer');

    proxy.setUploadFault(() => 'forward');
    const before = proxy.uploads().length;
    await page.click('#retry-failed');
    await waitForCards(page, (cs) => cs[0]?.status === 'completed', 60_000);
    assert.deepEqual(proxy.uploadKeys(before), [stuckKey], 'the same key, over IPC to the uploader');
  });

  it('says the upload was cancelled, with the counts, after Cancel', async () => {
    const photos = await writePhotos(path.join(work, 'b'), [
      { name: 'wait-1.jpg', width: 800, height: 600, seed: 6 },
      { name: 'wait-2.jpg', width: 800, height: 600, seed: 7 },
    ]);
    proxy.setUploadFault(() => 'stall');
    await dropPaths(page, photos);
    await waitForCards(page, (cs) => cs.length === 3 && cs.every(previewSettled));
    const before = proxy.uploads().length;
    const notified = harness.notifications.length;
    await page.keyboard.press('Control+u');
    while (proxy.uploads().length - before < 2) await page.waitForTimeout(50);
    await page.click('#cancel');
    await page.waitForFunction(() => document.body.dataset.batchCancelled === 'true');
    assert.equal(await page.textContent('#notice'), 'Upload cancelled: 1 completed, 0 failed, 2 not uploaded');
    assert.equal(harness.notifications.length, notified, 'no "batch finished" notification');
    proxy.setUploadFault(() => 'forward');
    assert.deepEqual(harness.pageErrors, []);
  });
});
