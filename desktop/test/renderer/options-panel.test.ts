/**
 * The options panel in the real main window (headless Chromium, the real
 * main-process handlers, no backend: the offline config's limits): presets
 * and a custom box change every card's promised size to what the server's
 * function computes, refused values name the field and change nothing,
 * choices are remembered in the settings, and "Resize locally" writes the
 * bytes the backend's render function makes for those options, named by
 * the template inside the dropped folders, with the saving on each card and
 * in the summary.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { renderImage, DEFAULT_RULES } from '@imgfleet/backend/imaging';
import type { SettingsStore } from '../../src/main/services/settings-store.js';
import type { Settings } from '../../src/shared/models.js';
import { AppHarness } from '../support/app-harness.js';
import { writePhotos } from '../support/fixtures.js';
import { cardStates, dropPaths, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the stored settings satisfy `probe`: checked now and on each change the store announces. */
function settingsWhere(store: SettingsStore, probe: (settings: Settings) => boolean, label: string, timeoutMs = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${label}`));
    }, timeoutMs);
    const check = (): void => {
      if (!probe(store.get())) return;
      clearTimeout(timer);
      stop();
      resolve();
    };
    const stop = store.onChange(check);
    check();
  });
}

async function choose(page: Page, name: string, value: string): Promise<void> {
  await page.selectOption(`#options-form select[name="${name}"]`, value);
}

async function fillNumber(page: Page, name: string, value: string): Promise<void> {
  await page.fill(`#options-form input[name="${name}"]`, value);
  await page.dispatchEvent(`#options-form input[name="${name}"]`, 'change');
}

describe('options panel in the main window', () => {
  let harness: AppHarness;
  let work: string;
  let page: Page;
  let photos: string;

  before(async () => {
    work = await tempDir('options-panel');
    photos = path.join(work, 'holiday');
    await writePhotos(photos, [
      { name: 'wide.jpg', width: 4000, height: 3000, seed: 3 },
      { name: 'day 2/tall.jpg', width: 1600, height: 1200, orientation: 6, seed: 4 },
    ]);
    harness = await AppHarness.start({ settings: { backendUrl: `http://127.0.0.1:${await closedPort()}`, outputFolder: path.join(work, 'out') } });
    page = await harness.openMainWindow();
    await page.waitForFunction(() => document.body.dataset.connection === 'offline');
  });
  after(async () => {
    await harness?.close();
    await removeDir(work);
  });

  it("presets and a custom box change every card's promised size; refused values name the field and change nothing", async () => {
    await dropPaths(page, [photos]);
    let cards = await waitForCards(page, (cs) => cs.length === 2 && cs.every((c) => c.hasPreview));
    assert.deepEqual(cards.map((c) => c.dims).sort(), ['1200×1600 → 450×600', '4000×3000 → 800×600']);
    assert.match((await page.textContent('#options-limits')) ?? '', /offline defaults: box up to 8192 × 8192/);

    await choose(page, 'preset', '1920x1080');
    cards = await waitForCards(page, (cs) => cs.every((c) => !c.dims.endsWith('800×600') && !c.dims.endsWith('450×600')));
    assert.deepEqual(cards.map((c) => c.dims).sort(), ['1200×1600 → 810×1080', '4000×3000 → 1440×1080']);
    await settingsWhere(harness.settings, (s) => s.outputOptions.width === 1920, 'the box remembered in the settings');

    await choose(page, 'fit', 'cover');
    await fillNumber(page, 'width', '500');
    await fillNumber(page, 'height', '500');
    await waitForCards(page, (cs) => cs.every((c) => c.dims.endsWith('500×500')));
    assert.equal(await page.inputValue('#options-form select[name="preset"]'), 'custom');

    await fillNumber(page, 'width', '9000');
    await page.waitForSelector('#options-error:not([hidden])');
    assert.match((await page.textContent('#options-error')) ?? '', /width: width may be at most 8192 pixels/);
    assert.equal(await page.getAttribute('#options-form input[name="width"]', 'aria-invalid'), 'true');
    assert.equal(harness.settings.get().outputOptions.width, 500, 'a refused value is not saved');
    // Nothing is made with a refused value: Resize locally says what to fix.
    await page.click('#resize-locally');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('fix the output options first (width:'));
    await fillNumber(page, 'width', '640');
    await page.waitForSelector('#options-error', { state: 'hidden' });
  });

  it("keeps each format's quality, shows JPEG's own choices only for JPEG, and GPS only with keep", async () => {
    assert.equal(await page.inputValue('#options-form input[name="quality"]'), '85');
    await choose(page, 'format', 'webp');
    assert.equal(await page.inputValue('#options-form input[name="quality"]'), '80');
    assert.equal(await page.isVisible('#options-form input[name="mozjpeg"]'), false);
    await fillNumber(page, 'quality', '55');
    await choose(page, 'format', 'jpeg');
    assert.equal(await page.inputValue('#options-form input[name="quality"]'), '85');
    assert.equal(await page.isVisible('#options-form input[name="mozjpeg"]'), true);
    await choose(page, 'format', 'webp');
    assert.equal(await page.inputValue('#options-form input[name="quality"]'), '55');
    assert.equal(await page.isDisabled('#options-form input[name="keepGps"]'), true);
    await choose(page, 'metadata', 'keep');
    assert.equal(await page.isDisabled('#options-form input[name="keepGps"]'), false);
    await page.fill('#options-form input[name="template"]', '{index}_{name}_{w}x{h}');
    await page.dispatchEvent('#options-form input[name="template"]', 'change');
    await page.waitForFunction(() => document.getElementById('options-summary')?.textContent?.includes('WebP 55'));
    await settingsWhere(harness.settings, (s) => s.outputOptions.template === '{index}_{name}_{w}x{h}', 'the template saved');
    const saved = harness.settings.get().outputOptions;
    assert.deepEqual([saved.format, saved.quality, saved.metadata, saved.template], ['webp', 55, 'keep', '{index}_{name}_{w}x{h}']);
  });

  it('"Resize locally" writes renderImage\'s bytes for the panel\'s options into the dropped folders, with the savings', async () => {
    await page.click('#resize-locally');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Resized locally 2 files'));
    const out = path.join(work, 'out');
    const written = (await fs.readdir(out, { recursive: true }))
      .filter((f) => f.endsWith('.webp'))
      .map((f) => f.split(path.sep).join('/'))
      .sort();
    assert.equal(written.length, 2);
    assert.ok(
      written.some((f) => /^holiday\/day 2\/\d_tall_640x500\.webp$/.test(f)),
      written.join(),
    );
    assert.ok(
      written.some((f) => /^holiday\/\d_wide_640x500\.webp$/.test(f)),
      written.join(),
    );
    const options = harness.settings.get().outputOptions;
    let totalResult = 0;
    let totalOriginal = 0;
    for (const [relative, source] of [
      [written.find((f) => f.includes('tall'))!, path.join(photos, 'day 2', 'tall.jpg')],
      [written.find((f) => f.includes('wide'))!, path.join(photos, 'wide.jpg')],
    ] as const) {
      const original = await fs.readFile(source);
      const expected = await renderImage(original, options, DEFAULT_RULES);
      const bytes = await fs.readFile(path.join(out, relative));
      assert.ok(bytes.equals(expected.data), `${relative}: the local result is the backend's function's bytes`);
      totalResult += bytes.length;
      totalOriginal += original.length;
    }
    const sizes = await page.$$eval('#cards li.card .size', (nodes) => nodes.map((n) => n.textContent ?? ''));
    assert.ok(
      sizes.every((s) => /→ .* \(−\d+%\)$/.test(s)),
      sizes.join(' | '),
    );
    const summary = (await page.textContent('#saving-text')) ?? '';
    const percent = Math.round((1 - totalResult / totalOriginal) * 100);
    assert.match(summary, new RegExp(`^Total: .* \\(−${percent}%\\) over 2 results$`));

    // The same again with "skip": nothing is replaced, each card says so.
    await choose(page, 'collision', 'skip');
    await settingsWhere(harness.settings, (s) => s.outputOptions.collision === 'skip', 'skip saved');
    await page.click('#resize-locally');
    await page.waitForFunction(() => [...document.querySelectorAll('.note')].filter((n) => (n.textContent ?? '').startsWith('Skipped: ')).length === 2);
    assert.equal((await fs.readdir(out, { recursive: true })).filter((f) => f.endsWith('.webp')).length, 2);
    const cards = await cardStates(page);
    assert.equal(cards.length, 2);
    assert.deepEqual(harness.pageErrors, []);
    await harness.screenshot(page, 'options-panel');
  });

  it('a new window starts from the remembered options', async () => {
    const again = await harness.openMainWindow();
    await again.waitForFunction(() => document.body.dataset.ready === 'true');
    assert.equal(await again.inputValue('#options-form select[name="format"]'), 'webp');
    assert.equal(await again.inputValue('#options-form input[name="width"]'), '640');
    assert.equal(await again.inputValue('#options-form select[name="collision"]'), 'skip');
  });
  it("each mode in plain words; the cards' promised sizes follow, and a target size is remembered", async () => {
    const labels = await page.$$eval('#options-form select[name="mode"] option, #options-form select[name="sizeBy"] option', (os) =>
      os.map((o) => o.textContent ?? ''),
    );
    for (const label of ['Long edge', 'Width only', 'Height only', 'Percent', 'Target size']) assert.ok(labels.includes(label), `${label} offered`);
    const dims = async (wide: string, tall: string) =>
      waitForCards(page, (cs) => cs.some((c) => c.dims === `4000×3000 → ${wide}`) && cs.some((c) => c.dims === `1200×1600 → ${tall}`));

    await choose(page, 'mode', 'longEdge');
    await fillNumber(page, 'longEdge', '1000');
    await dims('1000×750', '750×1000');
    assert.equal(await page.isVisible('#options-form input[name="width"]'), false, 'a long edge has no width to fill');
    await settingsWhere(harness.settings, (s) => s.outputOptions.longEdge === 1000, 'the long edge saved');

    await choose(page, 'mode', 'width');
    await dims('1000×750', '1000×1333');
    assert.equal(await page.isVisible('#options-form input[name="height"]'), false, 'height follows: no field for it');
    await settingsWhere(harness.settings, (s) => s.outputOptions.height === null, 'width only saved');

    await choose(page, 'mode', 'scale');
    await fillNumber(page, 'scale', '25');
    await dims('1000×750', '300×400');
    await page.waitForFunction(() => document.getElementById('options-summary')?.textContent?.startsWith('25 %'));

    await fillNumber(page, 'scale', '150');
    await page.waitForSelector('#options-error:not([hidden])');
    assert.match((await page.textContent('#options-error')) ?? '', /scale: scale above 100 enlarges: it needs enlarge/);
    await fillNumber(page, 'scale', '25');
    await page.waitForSelector('#options-error', { state: 'hidden' });

    await choose(page, 'sizeBy', 'target');
    await fillNumber(page, 'maxKB', '200');
    await settingsWhere(harness.settings, (s) => s.outputOptions.maxBytes === 200_000, 'the target size saved');
    await page.waitForFunction(() => document.getElementById('options-summary')?.textContent?.includes('at most 200 KB'));
    assert.equal(await page.textContent('#options-form label:has(input[name="quality"]) .option-label'), 'Highest quality');

    await choose(page, 'format', 'png');
    await settingsWhere(harness.settings, (s) => s.outputOptions.format === 'png', 'PNG saved');
    assert.equal(harness.settings.get().outputOptions.maxBytes, null, 'PNG has no target size');
    assert.equal(await page.isVisible('#options-form select[name="sizeBy"]'), false);
    assert.deepEqual(harness.pageErrors, []);
    await harness.screenshot(page, 'options-panel-modes');
  });
});
