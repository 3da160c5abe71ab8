import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_NAMING_TEMPLATE, renderName, templateProblem } from '../../src/shared/naming-template.js';
import { writeUnique } from '../../src/main/services/output-writer.js';
import { removeDir, tempDir } from '../support/paths.js';

const values = { name: 'IMG_0001', ext: 'JPG', width: 800, height: 600, id: 42 };

describe('naming template', () => {
  it('fills every token', () => {
    assert.equal(renderName(DEFAULT_NAMING_TEMPLATE, values), 'IMG_0001_800x600.jpg');
    assert.equal(renderName('{id}-{name}.{ext}', values), '42-IMG_0001.JPG');
    assert.equal(renderName('{name}-{width}w', values), 'IMG_0001-800w.jpg', '.jpg added: the output is JPEG');
    assert.equal(renderName('{name}.{ext}', { ...values, ext: 'png' }), 'IMG_0001.png.jpg');
  });

  it('makes any original name safe on every platform', () => {
    assert.equal(renderName('{name}.jpg', { ...values, name: 'a:b*c?"<>|' }), 'a_b_c_____.jpg');
    assert.equal(renderName('{name}.jpg', { ...values, name: 'CON' }), '_CON.jpg');
    assert.equal(renderName('{name}.jpg', { ...values, name: '' }), 'image.jpg');
    const long = renderName('{name}.jpg', { ...values, name: 'x'.repeat(500) });
    assert.ok(long.length <= 200 && long.endsWith('.jpg'));
  });

  it('explains what is wrong with a template', () => {
    assert.equal(templateProblem(DEFAULT_NAMING_TEMPLATE), null);
    assert.match(templateProblem('') ?? '', /empty/);
    assert.match(templateProblem('{name') ?? '', /unmatched/);
    assert.match(templateProblem('{Name}.jpg') ?? '', /unknown token \{Name\}/);
    assert.match(templateProblem('sub/{name}.jpg') ?? '', /may not contain/);
    assert.match(templateProblem('{width}x{height}.jpg') ?? '', /\{name\} or \{id\}/);
  });
});

describe('output writer', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('writer');
  });
  after(() => removeDir(dir));

  it('never overwrites: adds (1), (2), … to taken names', async () => {
    const first = await writeUnique(dir, 'photo_800x600.jpg', Buffer.from('first'));
    const second = await writeUnique(dir, 'photo_800x600.jpg', Buffer.from('second'));
    const third = await writeUnique(dir, 'photo_800x600.jpg', Buffer.from('third'));
    assert.deepEqual(
      [first, second, third].map((p) => path.basename(p)),
      ['photo_800x600.jpg', 'photo_800x600 (1).jpg', 'photo_800x600 (2).jpg'],
    );
    assert.equal(await fs.readFile(first, 'utf8'), 'first');
    assert.equal(await fs.readFile(second, 'utf8'), 'second');
  });

  it('gives racing writers distinct files', async () => {
    const written = await Promise.all(Array.from({ length: 12 }, (_, i) => writeUnique(dir, 'race.jpg', Buffer.from(String(i)))));
    assert.equal(new Set(written).size, 12);
    const contents = await Promise.all(written.map((p) => fs.readFile(p, 'utf8')));
    assert.deepEqual(
      contents.sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
  });

  it('creates the folder when it does not exist yet', async () => {
    const nested = path.join(dir, 'new', 'folder');
    const file = await writeUnique(nested, 'a.jpg', Buffer.from('a'));
    assert.equal(path.dirname(file), nested);
  });
});
