/**
 * Before/after in both hosts, in headless Chromium against the real
 * backend: the desktop window (the real main-process handlers behind it)
 * and the page the backend serves. For a card, before upload (original vs
 * the offline preview) and after (original vs the cluster's result): both
 * pictures shown and named, the split moves with the keyboard, "100 %"
 * shows the result at its natural size, Escape closes and focus is back on
 * the card.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { AppHarness } from '../support/app-harness.js';
import { writePhotos } from '../support/fixtures.js';
import { cardNamed, dropPaths, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { dropPathsNatively, openWebApp, type WebApp } from '../support/web-page.js';

interface Shown {
  state: string;
  title: string;
  original: { alt: string; natural: [number, number]; shown: [number, number]; hidden: boolean };
  result: { alt: string; natural: [number, number]; shown: [number, number]; hidden: boolean };
  clip: string;
  note: string;
}

function shown(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const dialog = document.getElementById('compare-dialog') as HTMLDialogElement;
    const img = (selector: string) => {
      const el = dialog.querySelector<HTMLImageElement>(selector)!;
      return {
        alt: el.alt,
        natural: [el.naturalWidth, el.naturalHeight] as [number, number],
        shown: [el.clientWidth, el.clientHeight] as [number, number],
        hidden: el.hidden,
      };
    };
    return {
      state: dialog.dataset.state ?? '',
      title: dialog.querySelector('h2')?.textContent ?? '',
      original: img('.compare-original'),
      result: img('.compare-result'),
      clip: dialog.querySelector<HTMLImageElement>('.compare-original')!.style.clipPath,
      note: dialog.querySelector('.compare-note')?.textContent ?? '',
    };
  });
}

/** Opens the comparison of `name` from the keyboard, checks it through, closes it with Escape. */
async function compareCard(
  page: Page,
  name: string,
  expect: { original: [number, number]; result: [number, number]; kind: RegExp },
  screenshot?: () => Promise<unknown>,
): Promise<void> {
  const button = cardNamed(page, name).getByRole('button', { name: `Compare ${name} before and after` });
  await button.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const dialog = document.getElementById('compare-dialog') as HTMLDialogElement | null;
    return dialog?.open === true && dialog.dataset.state !== 'loading';
  });
  const dialog = page.getByRole('dialog', { name: `Before and after: ${name}` });
  assert.ok(await dialog.isVisible());
  let state = await shown(page);
  assert.equal(state.state, 'ready', state.note);
  assert.deepEqual(state.original.natural, expect.original);
  assert.deepEqual(state.result.natural, expect.result);
  // Named for a screen reader, the sizes included.
  assert.ok(await dialog.getByRole('img', { name: `Original: ${name}, ${expect.original.join('×')}` }).isVisible());
  assert.ok(await dialog.getByRole('img', { name: expect.kind }).isVisible());
  assert.match(state.result.alt, new RegExp(`${expect.result.join('×')}$`));
  assert.equal(state.clip, 'inset(0px 50% 0px 0px)');
  await screenshot?.();

  // The split: focused on opening, moved with the keys.
  const slider = dialog.getByRole('slider');
  assert.ok(await slider.evaluate((el) => el === document.activeElement));
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal((await shown(page)).clip, 'inset(0px 48% 0px 0px)');
  await page.keyboard.press('Home');
  assert.equal((await shown(page)).clip, 'inset(0px 100% 0px 0px)');
  assert.equal(await slider.getAttribute('aria-valuetext'), '0% original, 100% result');

  // Fit: the whole picture within the dialog; 100 %: the result's own pixels, the original over the same area.
  const zoom = dialog.getByRole('button', { name: '100 %' });
  assert.equal(await zoom.getAttribute('aria-pressed'), 'false');
  await zoom.press('Enter');
  assert.equal(await zoom.getAttribute('aria-pressed'), 'true');
  state = await shown(page);
  assert.deepEqual(state.result.shown, expect.result, 'the result at its natural size');
  assert.deepEqual(state.original.shown, expect.result, 'the original over the same area');

  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !(document.getElementById('compare-dialog') as HTMLDialogElement).open);
  const focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('li.card')?.querySelector('.name')?.textContent ?? null);
  assert.equal(focused, name, 'focus is back on the card');
}

describe('before/after comparison', () => {
  let backend: TestBackend;
  let work: string;
  let photos: string;

  before(async () => {
    work = await tempDir('compare-view');
    photos = path.join(work, 'photos');
    await writePhotos(photos, [{ name: 'beach.jpg', width: 1600, height: 1200, seed: 31 }]);
    backend = await startTestBackend({ POD_NAME: 'compare-view' });
  });
  after(async () => {
    await backend?.stop();
    await removeDir(work);
  });

  describe('in the desktop window', () => {
    let harness: AppHarness;
    let page: Page;
    before(async () => {
      harness = await AppHarness.start({ settings: { backendUrl: backend.url, outputFolder: path.join(work, 'out') } });
      page = await harness.openMainWindow();
      await page.waitForFunction(() => document.body.dataset.connection === 'open');
    });
    after(async () => harness?.close());

    it("compares the original with the offline preview, then with the cluster's result", async () => {
      await dropPaths(page, [path.join(photos, 'beach.jpg')]);
      await waitForCards(page, (cs) => cs.length === 1 && cs.every(previewSettled));
      await compareCard(page, 'beach.jpg', { original: [1600, 1200], result: [800, 600], kind: /^Preview of the result: beach\.jpg, 800×600$/ });
      await page.click('#upload');
      await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 120_000);
      await compareCard(page, 'beach.jpg', { original: [1600, 1200], result: [800, 600], kind: /^Result: beach\.jpg, 800×600$/ }, () =>
        harness.screenshot(page, 'compare-view-desktop'),
      );
    });
  });

  describe('in the web page', () => {
    let app: WebApp;
    let page: Page;
    before(async () => {
      app = await openWebApp(backend.url);
      page = app.page;
    });
    after(async () => app?.close());

    it("compares the original with the browser's preview, then with the cluster's result", async () => {
      await dropPathsNatively(page, [path.join(photos, 'beach.jpg')]);
      await waitForCards(page, (cs) => cs.length === 1 && cs.every(previewSettled));
      await compareCard(page, 'beach.jpg', { original: [1600, 1200], result: [800, 600], kind: /^Preview of the result: beach\.jpg, 800×600$/ });
      await page.click('#upload');
      await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 120_000);
      await compareCard(page, 'beach.jpg', { original: [1600, 1200], result: [800, 600], kind: /^Result: beach\.jpg, 800×600$/ });
    });
  });
});
