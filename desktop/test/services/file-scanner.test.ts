import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasImageContent, isJpgName, scanPaths } from '../../src/main/services/file-scanner.js';
import { images } from '../support/backend-support.js';
import { removeDir, tempDir } from '../support/paths.js';

describe('file scanner', () => {
  let root: string;

  before(async () => {
    root = await tempDir('scan');
    const files: Record<string, string> = {
      'top.jpg': 'x',
      'UPPER.JPG': 'x',
      'a/one.jpeg': 'x',
      'a/Two.JpEg': 'x',
      'a/notes.txt': 'x',
      'a/b/deep.jpg': 'x',
      'a/b/picture.png': 'x',
      'a/b/c/deeper.JPG': 'x',
      'a/b/c/.hidden.jpg': 'x',
      'a/b/c/archive.jpg.zip': 'x',
    };
    for (const [name, body] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await fs.writeFile(path.join(root, name), body);
    }
    // A cycle (a folder linking to its ancestor) and a link to a file.
    await fs.symlink(path.join(root, 'a'), path.join(root, 'a/b/loop'), 'dir');
    await fs.symlink(path.join(root, 'top.jpg'), path.join(root, 'a/link.jpg'), 'file');
  });

  after(() => removeDir(root));

  it('matches .jpg and .jpeg in any case, and nothing else', () => {
    for (const name of ['a.jpg', 'a.JPG', 'a.jpeg', 'a.JpEg', 'x.y.jpg']) assert.ok(isJpgName(name), name);
    for (const name of ['a.png', 'a.jpg.zip', 'jpg', 'a.jp', 'a.jpegx']) assert.ok(!isJpgName(name), name);
  });

  it('walks folders recursively, counts ignored files and survives symbolic link cycles', async () => {
    const result = await scanPaths([root]);
    const names = result.files.map((f) => path.relative(root, f.path)).sort();
    assert.deepEqual(names, ['UPPER.JPG', 'a/Two.JpEg', 'a/b/c/.hidden.jpg', 'a/b/c/deeper.JPG', 'a/b/deep.jpg', 'a/link.jpg', 'a/one.jpeg', 'top.jpg']);
    // notes.txt, picture.png, archive.jpg.zip
    assert.equal(result.ignored, 3);
    assert.deepEqual(result.unreadable, []);
    for (const file of result.files) {
      assert.ok(path.isAbsolute(file.path));
      assert.equal(file.name, path.basename(file.path));
      assert.equal(file.size, 1);
    }
  });

  it('accepts files and folders together without listing a file twice', async () => {
    const result = await scanPaths([path.join(root, 'a/one.jpeg'), path.join(root, 'a'), path.join(root, 'a/notes.txt')]);
    const names = result.files.map((f) => path.relative(root, f.path));
    assert.equal(names.filter((n) => n === 'a/one.jpeg').length, 1);
    assert.equal(names[0], 'a/one.jpeg', 'explicitly given files keep their place');
    assert.equal(result.ignored, 4, 'notes.txt given directly and once in the walk, picture.png, archive.jpg.zip');
  });

  it('reports paths it cannot read instead of failing', async () => {
    const missing = path.join(root, 'does-not-exist');
    const result = await scanPaths([missing, path.join(root, 'top.jpg')]);
    assert.deepEqual(result.unreadable, [missing]);
    assert.equal(result.files.length, 1);
  });

  it('takes JPEG, PNG and WebP images by their content, whatever their names', async () => {
    const folder = await tempDir('scan-content');
    try {
      const jpeg = await images.makeImage({ width: 64, height: 48 });
      const png = await images.makeImage({ width: 64, height: 48, format: 'png' });
      const webp = await images.makeImage({ width: 64, height: 48, format: 'webp' });
      const bodies: Record<string, Buffer | string> = {
        'holiday.png': png,
        'shot.webp': webp,
        IMG_0001: jpeg,
        'scan.PNG.bak': png,
        'jpeg-named-txt.txt': jpeg,
        'notes.txt': 'just notes',
        'fake.png': 'not a png',
        'empty.webp': '',
      };
      for (const [name, body] of Object.entries(bodies)) await fs.writeFile(path.join(folder, name), body);
      const result = await scanPaths([folder]);
      assert.deepEqual(result.files.map((f) => f.name).sort(), ['IMG_0001', 'holiday.png', 'jpeg-named-txt.txt', 'scan.PNG.bak', 'shot.webp']);
      assert.equal(result.ignored, 3, 'notes.txt, fake.png and empty.webp');
      assert.equal(await hasImageContent(path.join(folder, 'does-not-exist')), false);
    } finally {
      await removeDir(folder);
    }
  });

  it('stops at maxFiles', async () => {
    const result = await scanPaths([root], { maxFiles: 3 });
    assert.equal(result.files.length, 3);
  });
});
