/**
 * The options panel on the web page the backend serves, in a plain
 * browser against the real backend: the server's limits are shown, the
 * choices are kept in the browser's storage and sent with the upload (the
 * `options` field first, a dropped folder's relative path as the file
 * name), each card then shows the result's bytes and saving, and the ZIP
 * holds, inside the dropped folders and named by the template, the very
 * bytes the backend's render function makes of each original.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_RULES, renderImage } from '@imgfleet/backend/imaging';
import type { OutputOptions } from '@imgfleet/backend/contract/output-options';
import { writePhotos } from '../support/fixtures.js';
import { cardStates, previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { dropPathsNatively, openWebApp, readZip, saveDownload, screenshot, type WebApp } from '../support/web-page.js';

describe('web UI in a plain browser: output options', () => {
  let backend: TestBackend;
  let app: WebApp;
  let page: Page;
  let work: string;
  let album: string;

  before(async () => {
    work = await tempDir('web-options');
    album = path.join(work, 'album');
    await writePhotos(album, [
      { name: 'a.jpg', width: 1600, height: 1200, seed: 1 },
      { name: 'sub/c.jpg', width: 600, height: 900, seed: 2 },
    ]);
    backend = await startTestBackend({ POD_NAME: 'web-options' });
    app = await openWebApp(backend.url);
    page = app.page;
  });
  after(async () => {
    await app?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it("shows the server's limits and keeps the choices in the browser's storage", async () => {
    await page.waitForFunction(() => (document.getElementById('options-limits')?.textContent ?? '').includes('Limits from this server'));
    await page.selectOption('#options-form select[name="format"]', 'webp');
    await page.fill('#options-form input[name="quality"]', '60');
    await page.dispatchEvent('#options-form input[name="quality"]', 'change');
    await page.fill('#options-form input[name="template"]', '{name}_{w}x{h}');
    await page.dispatchEvent('#options-form input[name="template"]', 'change');
    await page.waitForFunction(() => {
      const stored = JSON.parse(localStorage.getItem('imgfleet.settings') ?? '{}') as {
        outputOptions?: { format?: string; quality?: number; template?: string };
      };
      return stored.outputOptions?.format === 'webp' && stored.outputOptions.quality === 60 && stored.outputOptions.template === '{name}_{w}x{h}';
    });
  });

  it("uploads with the options; cards show the saving; the ZIP keeps the folders and holds renderImage's bytes", async () => {
    await dropPathsNatively(page, [album]);
    await waitForCards(page, (cs) => cs.length === 2 && cs.every(previewSettled));
    await page.click('#upload');
    await waitForCards(page, (cs) => cs.every((c) => c.status === 'completed'), 120_000);
    await page.waitForFunction(() => [...document.querySelectorAll('#cards .size')].every((n) => /\(−\d+%\)$/.test(n.textContent ?? '')));
    assert.match((await page.textContent('#saving-text')) ?? '', /^Total: .* over 2 results$/);

    const options = await page.evaluate(() => (JSON.parse(localStorage.getItem('imgfleet.settings') ?? '{}') as { outputOptions: unknown }).outputOptions);
    const [card] = await cardStates(page);
    const image = await page.evaluate(async (id) => (await fetch(`/api/v1/images/${id}`)).json() as Promise<{ options: unknown }>, card!.id);
    assert.deepEqual(image.options, options, "the server made it with the page's options");

    const download = page.waitForEvent('download');
    await page.click('#download-all');
    const entries = await readZip(await saveDownload(await download, work));
    const byName = new Map(entries.map((e) => [e.name, e.data]));
    assert.deepEqual([...byName.keys()].sort(), ['album/a_800x600.webp', 'album/sub/c_400x600.webp']);
    for (const [name, source] of [
      ['album/a_800x600.webp', 'a.jpg'],
      ['album/sub/c_400x600.webp', 'sub/c.jpg'],
    ] as const) {
      const expected = await renderImage(await fs.readFile(path.join(album, source)), options as OutputOptions, DEFAULT_RULES);
      assert.ok(byName.get(name)!.equals(expected.data), `${name}: the cluster's bytes are the shared function's`);
    }
    assert.deepEqual(app.pageErrors, []);
    await screenshot(page, 'web-options');
  });
});
