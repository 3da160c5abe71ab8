/** The shared file-name rules (issue 18, item 7): cut by UTF-8 bytes on character boundaries, compared in NFC, headers that never throw. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanFilename, cutUtf8, nameKey, resolveCollision, safeFolderSegments, sourcePathOf, suffixedName } from '../../src/contract/file-names.js';
import { renderName, templateProblem } from '../../src/contract/naming-template.js';
import { attachmentHeader } from '../../src/http/downloads/content-disposition.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('file names', () => {
  it('cuts by UTF-8 bytes, never inside a surrogate pair, a combining sequence or a ZWJ emoji', () => {
    assert.equal(cutUtf8('😀😀😀', 9), '😀😀');
    assert.equal(cutUtf8('e\u0301e\u0301', 4), 'e\u0301', 'the accent stays with its letter');
    const family = '👨‍👩‍👧';
    assert.equal(cutUtf8(`a${family}`, 10), 'a', 'a ZWJ sequence is kept whole or not at all');
    assert.equal(cutUtf8('abc', 255), 'abc');
    assert.doesNotMatch(cutUtf8('\ud83d', 10), LONE, 'a half pair given in is replaced');
  });

  it('renders names within 255 bytes, keeping the template around a long {name}', () => {
    for (const name of ['😀'.repeat(300), 'é'.repeat(400), 'a'.repeat(600), `${'漢'.repeat(100)}\ud83d`]) {
      const out = renderName('{name}_{w}x{h}.jpg', { name, ext: 'jpg', width: 800, height: 600 });
      assert.ok(bytes(out) <= 255 - 8, `${bytes(out)} bytes leave room for a suffix`);
      assert.match(out, /_800x600\.jpg$/);
      assert.doesNotMatch(out, LONE);
      assert.ok(bytes(suffixedName(out, 99999)) <= 255);
    }
    assert.equal(renderName('{name}.jpg', { name: 'cafe\u0301', ext: 'jpg', width: 1, height: 1 }), 'caf\u00e9.jpg', 'written in NFC');
  });

  it('cleans uploaded names and folders to 255 bytes each', () => {
    const long = cleanFilename(`dir/${'😀'.repeat(200)}.jpg`, 'x');
    assert.ok(bytes(long) <= 255);
    assert.doesNotMatch(long, LONE);
    assert.equal(cleanFilename('a\u0000b\u0085c.jpg', 'x'), 'abc.jpg');
    const path = sourcePathOf(`${'é'.repeat(300)}/b/c.jpg`, 'c.jpg') ?? '';
    for (const segment of path.split('/')) assert.ok(bytes(segment) <= 255);
    assert.deepEqual(safeFolderSegments(`../${'ü'.repeat(200)}/x:y/f.jpg`), ['ü'.repeat(127), 'x_y']);
  });

  it('compares names as macOS and Windows do: NFC and case-folded', () => {
    assert.equal(nameKey('Cafe\u0301.JPG'), nameKey('caf\u00e9.jpg'));
    const taken = new Set([nameKey('caf\u00e9.jpg')]);
    assert.equal(resolveCollision('cafe\u0301.jpg', taken, 'suffix'), 'cafe\u0301 (1).jpg');
    assert.equal(resolveCollision('CAF\u00c9.jpg', taken, 'skip'), null);
  });

  it('refuses control characters and half surrogate pairs in templates', () => {
    for (const t of ['{name}\u0000', '{name}\t', '\u007f{name}', '{name}\u009b', '{name}\udc00']) assert.ok(templateProblem(t), JSON.stringify(t));
    assert.equal(templateProblem('{name} – été 😀'), null);
  });

  it('Content-Disposition carries any name and never throws', () => {
    assert.equal(attachmentHeader('photo.jpg'), 'attachment; filename="photo.jpg"');
    for (const name of ['a"b\\c.jpg', 'café 😀.jpg', '\ud83d.jpg', 'x\r\nSet-Cookie: a=b.jpg', "it's (1)*.jpg", '']) {
      const header = attachmentHeader(name);
      assert.doesNotMatch(header, /[\r\n]/);
      assert.match(header, /^attachment; filename="[\x20-\x21\x23-\x5b\x5d-\x7e]*"(; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+)?$/, header);
      const ext = /filename\*=UTF-8''(.+)$/.exec(header);
      if (ext && name === 'café 😀.jpg') assert.equal(decodeURIComponent(ext[1]!), name);
    }
  });
});
