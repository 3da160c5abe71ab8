/**
 * Folders in a plain browser: a real drop of folders from disk (CDP's
 * Input.dispatchDragEvent with paths, so Chromium hands the page genuine
 * FileSystemDirectoryEntry objects), the folder picker (<input
 * webkitdirectory>), and a synthetic tree through the same drop handler for
 * what a disk fixture cannot easily show: directories listed in chunks of
 * 100 and unreadable entries.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { writePhotos } from '../support/fixtures.js';
import { previewSettled, waitForCards } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { cardPaths, dropFakeTree, dropPathsNatively, noticeText, openWebApp, screenshot, type FakeNode, type WebApp } from '../support/web-page.js';

describe('web UI in a plain browser: folders', () => {
  let backend: TestBackend;
  let app: WebApp;
  let page: Page;
  let work: string;
  let album: string;

  const clear = async (): Promise<void> => {
    await page.click('#clear');
    await waitForCards(page, (cs) => cs.length === 0);
  };

  before(async () => {
    work = await tempDir('web-folders');
    album = path.join(work, 'album');
    await writePhotos(album, [
      { name: 'b.JPEG', width: 900, height: 600 },
      { name: 'a.jpg', width: 1600, height: 1200 },
      { name: 'sub/c.jpg', width: 600, height: 900 },
      { name: 'sub/deeper/d.jpeg', width: 2000, height: 1000 },
    ]);
    await fs.writeFile(path.join(album, 'notes.txt'), 'not a photo');
    await fs.writeFile(path.join(album, 'sub', 'scan.png'), 'not a jpg by name');
    await writePhotos(work, [{ name: 'loose.jpg', width: 800, height: 800 }]);
    backend = await startTestBackend({ POD_NAME: 'web-folders' });
    app = await openWebApp(backend.url);
    page = app.page;
  });

  after(async () => {
    await app?.close();
    await backend?.stop();
    await removeDir(work);
  });

  it('walks a folder dropped from disk recursively, JPGs only, the rest counted as ignored', async () => {
    await dropPathsNatively(page, [album, path.join(work, 'loose.jpg')]);
    const cards = await waitForCards(page, (cs) => cs.length === 5 && cs.every(previewSettled));
    assert.deepEqual(await cardPaths(page), [
      { name: 'loose.jpg', path: 'loose.jpg' },
      { name: 'a.jpg', path: 'album/a.jpg' },
      { name: 'b.JPEG', path: 'album/b.JPEG' },
      { name: 'c.jpg', path: 'album/sub/c.jpg' },
      { name: 'd.jpeg', path: 'album/sub/deeper/d.jpeg' },
    ]);
    assert.deepEqual(
      cards.map((c) => c.dims),
      ['800×800 → 600×600', '1600×1200 → 800×600', '900×600 → 800×533', '600×900 → 400×600', '2000×1000 → 800×400'],
    );
    assert.ok(cards.every((c) => c.hasPreview));
    assert.match(await noticeText(page), /Added 5 photos · 2 other files ignored \(only JPEG, PNG, WebP, HEIC, TIFF and GIF images are taken\)/);
    await screenshot(page, 'web-folders-1-dropped');

    // The same folder again is recognised, file by file.
    await dropPathsNatively(page, [album]);
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('already in the list'));
    assert.match(await noticeText(page), /Added 0 photos · 4 already in the list · 2 other files ignored/);
  });

  it('takes a folder from the folder picker, with the same keys as a drop of it', async () => {
    await clear();
    const chooser = page.waitForEvent('filechooser');
    await page.click('#add-folder');
    await (await chooser).setFiles(album);
    await waitForCards(page, (cs) => cs.length === 4 && cs.every(previewSettled));
    assert.deepEqual((await cardPaths(page)).map((c) => c.path).sort(), ['album/a.jpg', 'album/b.JPEG', 'album/sub/c.jpg', 'album/sub/deeper/d.jpeg']);
    assert.match(await noticeText(page), /Added 4 photos · 2 other files ignored/);

    // Dropping the folder after picking it adds nothing: a file has one key however it came in.
    await dropPathsNatively(page, [album]);
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').includes('already in the list'));
    assert.match(await noticeText(page), /Added 0 photos · 4 already in the list · 2 other files ignored/);
    await clear();
  });

  it('reads big folders chunk by chunk and reports what could not be read', async () => {
    const many: FakeNode[] = Array.from({ length: 250 }, (_, i) => ({ name: `IMG_${String(i + 1).padStart(4, '0')}.jpg` }));
    const tree: FakeNode[] = [
      {
        name: 'camera',
        children: [
          { name: 'DCIM', children: [...many, { name: 'thumbs.db' }] },
          { name: 'locked', unreadable: true, children: [{ name: 'secret.jpg' }] },
          { name: 'gone.jpg', unreadable: true },
          { name: 'readme.TXT' },
        ],
      },
    ];
    await dropFakeTree(page, tree);
    await waitForCards(page, (cs) => cs.length === 250, 60_000);
    const paths = (await cardPaths(page)).map((c) => c.path);
    assert.equal(paths[0], 'camera/DCIM/IMG_0001.jpg');
    assert.equal(paths[249], 'camera/DCIM/IMG_0250.jpg');
    assert.equal(new Set(paths).size, 250, 'every chunk of readEntries was read, none twice');
    const notice = await noticeText(page);
    assert.match(notice, /Added 250 photos · 2 other files ignored/);
    assert.match(notice, /2 items could not be read: camera\/gone\.jpg, camera\/locked/);
    await clear();
    assert.deepEqual(app.pageErrors, []);
  });
});
