/**
 * With no backend at all: the window says so plainly, previews and "Resize
 * locally" keep working, and cluster actions are disabled.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { AppHarness } from '../support/app-harness.js';
import { writePhotos } from '../support/fixtures.js';
import { cardStates, dropPaths, forgeDrop, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('main window without a backend', () => {
  let harness: AppHarness;
  let work: string;

  before(async () => {
    work = await tempDir('offline');
    harness = await AppHarness.start({ settings: { backendUrl: `http://127.0.0.1:${await closedPort()}` } });
  });
  after(async () => {
    await harness?.close();
    await removeDir(work);
  });

  it('shows the offline state while previews and local resize keep working', async () => {
    const photos = await writePhotos(path.join(work, 'in'), [
      { name: 'one.jpg', width: 3200, height: 2400 },
      { name: 'two.jpg', width: 1000, height: 1500 },
    ]);
    const page = await harness.openMainWindow();
    await page.waitForFunction(() => document.body.dataset.connection === 'offline');
    assert.ok(await page.isVisible('#offline-banner'));
    const banner = (await page.textContent('#offline-text')) ?? '';
    assert.match(banner, /unreachable.*Previews and “Resize locally” keep working/);
    // A sentence a person can act on, not the program's error.
    assert.match(banner, /is unreachable: nothing answers at that address; is the backend running\?/);
    assert.doesNotMatch(banner, /TypeError|ECONNREFUSED|fetch failed/);

    await dropPaths(page, photos);
    const cards = await waitForCards(page, (cs) => cs.length === 2 && cs.every((c) => c.hasPreview));
    assert.deepEqual(
      cards.map((c) => c.dims),
      ['3200×2400 → 800×600', '1000×1500 → 400×600'],
    );
    assert.equal(await page.isDisabled('#upload'), true, 'no upload while offline');
    assert.equal(await page.isDisabled('#download-all'), true);

    // No output folder yet: the folder dialog is asked, and its answer remembered.
    const output = path.join(work, 'out');
    harness.folderQueue.push(output);
    await page.click('#resize-locally');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Resized locally 2 files'));
    assert.deepEqual((await fs.readdir(output)).sort(), ['one_800x600.jpg', 'two_400x600.jpg']);
    const meta = await sharp(path.join(output, 'two_400x600.jpg')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 400, 600]);
    assert.equal(harness.settings.get().outputFolder, output);
    assert.match((await page.textContent('#output-folder')) ?? '', new RegExp(`Output: ${output}`));
    await harness.screenshot(page, 'main-window-offline');
  });

  it('edits settings in the dialog, refusing bad values with the reason, and obeys menu commands', async () => {
    const page = await harness.openEmptyMainWindow();
    // The app menu's "Settings…" arrives as a menu:command event, as from the main process.
    await page.evaluate(() => window.__imgfleetEmit('menu:command', { command: 'settings' }));
    await page.waitForSelector('#settings-dialog[open]');
    await page.fill('input[name="namingTemplate"]', '{name}_{date}.jpg');
    await page.click('#settings-form button[type="submit"]');
    await page.waitForSelector('#settings-error:not([hidden])');
    assert.match((await page.textContent('#settings-error')) ?? '', /unknown token \{date\}/);
    assert.ok(await page.isVisible('#settings-dialog'), 'the dialog stays open');

    await page.fill('input[name="namingTemplate"]', '{id}_{name}.jpg');
    await page.fill('input[name="uploadConcurrency"]', '6');
    await page.click('#settings-form button[type="submit"]');
    await page.waitForSelector('#settings-dialog', { state: 'hidden' });
    assert.equal(harness.settings.get().namingTemplate, '{id}_{name}.jpg');
    assert.equal(harness.settings.get().uploadConcurrency, 6);
    const onDisk = JSON.parse(await fs.readFile(harness.settings.file, 'utf8')) as { uploadConcurrency: number };
    assert.equal(onDisk.uploadConcurrency, 6);

    // File → Add Files… opens the file dialog; its choice is scanned like a drop.
    const photos = await writePhotos(path.join(work, 'picked'), [{ name: 'picked.jpg', width: 900, height: 600 }]);
    harness.pickQueue.push(photos);
    await page.evaluate(() => window.__imgfleetEmit('menu:command', { command: 'open-files' }));
    const cards = await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.hasPreview);
    assert.equal(cards[0]!.dims, '900×600 → 800×533');
  });

  it('refuses files that were never picked or dropped, and requests from foreign pages', async () => {
    const page = await harness.openMainWindow();
    const forbidden = await page.evaluate(() => window.imgfleet!.invoke('preview:make', { path: '/etc/passwd' }));
    assert.deepEqual(forbidden, { ok: false, error: { message: '/etc/passwd was not chosen or dropped in this session', code: 'FORBIDDEN_PATH' } });
    const invalid = await page.evaluate(() => window.imgfleet!.invoke('images:retry', { id: -1 }));
    assert.equal(invalid.ok ? 'ok' : invalid.error.code, 'INVALID_ARGUMENTS');
    const unknown = await page.evaluate(() =>
      (window.imgfleet!.invoke as (c: string, a: unknown) => Promise<{ ok: boolean; error?: { code: string } }>)('shell:exec', {}),
    );
    assert.equal(unknown.error?.code, 'UNKNOWN_CHANNEL');

    // A page that is not one of the app's own (here about:blank) gets nothing.
    const foreign = await harness.context.newPage();
    await foreign.goto('about:blank');
    const refused = await foreign.evaluate(() => window.__imgfleetInvoke('settings:get', {}));
    assert.deepEqual(refused, { ok: false, error: { message: 'refused IPC from about:blank', code: 'FORBIDDEN_SENDER' } });
  });

  it('scans only folders really dropped on that window, once: page script cannot name one', async () => {
    const album = path.join(work, 'album');
    const sibling = path.join(work, 'private');
    await writePhotos(album, [{ name: 'a.jpg', width: 800, height: 600 }]);
    await writePhotos(sibling, [{ name: 'secret.jpg', width: 800, height: 600 }]);
    const page = await harness.openEmptyMainWindow();
    const refusal = (folder: string): string => `${folder} was not dropped on this window or picked in its dialog in the last 60 s`;
    const scan = (folder: string): Promise<unknown> => page.evaluate((p) => window.imgfleet!.invoke('files:scan', { paths: [p] }), folder);

    // A drop the page fakes itself (its own File objects, an untrusted event) reaches no preload report.
    await forgeDrop(page, [sibling]);
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('Could not read the dropped files'));
    assert.equal(await page.textContent('#notice'), `Could not read the dropped files: ${refusal(sibling)}`);
    assert.deepEqual(await cardStates(page), []);
    // Nor can it just ask.
    assert.deepEqual(await scan('/etc'), { ok: false, error: { message: refusal('/etc'), code: 'FORBIDDEN_PATH' } });

    // A real drop is scanned; it opens that folder only, and only once.
    await dropPaths(page, [album]);
    await waitForCards(page, (cs) => cs.length === 1 && cs[0]!.name === 'a.jpg');
    assert.deepEqual(await scan(sibling), { ok: false, error: { message: refusal(sibling), code: 'FORBIDDEN_PATH' } });
    assert.deepEqual(await scan(album), { ok: false, error: { message: refusal(album), code: 'FORBIDDEN_PATH' } });

    // A drop on one window is no grant for another. Here the page keeps its own drop handler from
    // scanning (the preload's capture listener came first), so the grant stays unused.
    const other = await harness.openMainWindow();
    await page.evaluate(() => window.addEventListener('drop', (event) => event.stopImmediatePropagation(), { capture: true }));
    await dropPaths(page, [album]);
    const fromOther = await other.evaluate((p) => window.imgfleet!.invoke('files:scan', { paths: [p] }), album);
    assert.deepEqual(fromOther, { ok: false, error: { message: refusal(album), code: 'FORBIDDEN_PATH' } });
    const fromPage = (await scan(album)) as { ok: boolean; value?: { files: { name: string }[] } };
    assert.deepEqual(
      fromPage.value?.files.map((f) => f.name),
      ['a.jpg'],
      'the window the folder was dropped on may scan it',
    );
    assert.deepEqual(harness.refusedMessages, []);
  });
});
