import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildOutputOptionsSchema,
  contentTypeOf,
  DEFAULT_OUTPUT_LIMITS,
  DEFAULT_OUTPUT_OPTIONS,
  extensionOf,
  outputOptionsFromQuery,
  outputOptionsSchema,
  outputRelativePath,
  parseOutputOptions,
  resolveCollision,
  type OptionsProblem,
} from '../../src/contract/output-options.js';
import { renderName } from '../../src/contract/naming-template.js';

function problemsOf(input: unknown, schema = outputOptionsSchema): OptionsProblem[] {
  const parsed = parseOutputOptions(input, schema);
  assert.equal(parsed.ok, false, `expected ${JSON.stringify(input)} to be refused`);
  return parsed.ok ? [] : parsed.problems;
}

describe('output options schema', () => {
  it('an empty object is the earlier system: inside 800x600, no enlarge, JPEG 85, strip', () => {
    const parsed = parseOutputOptions({});
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.options, DEFAULT_OUTPUT_OPTIONS);
    assert.deepEqual(
      [
        parsed.options.fit,
        parsed.options.width,
        parsed.options.height,
        parsed.options.enlarge,
        parsed.options.format,
        parsed.options.quality,
        parsed.options.metadata,
      ],
      ['inside', 800, 600, false, 'jpeg', 85, 'strip'],
    );
    assert.deepEqual(parseOutputOptions(undefined), { ok: true, options: DEFAULT_OUTPUT_OPTIONS }, 'no options at all: the defaults');
  });

  it('gives each format its own default quality, and keeps an explicit one', () => {
    const quality = (input: object) => outputOptionsSchema.parse(input).quality;
    assert.equal(quality({ format: 'webp' }), 80);
    assert.equal(quality({ format: 'avif' }), 50);
    assert.equal(quality({ format: 'png' }), 100);
    assert.equal(quality({ format: 'jpeg', quality: 60 }), 60);
    // Parsing what was stored (quality resolved) again changes nothing: a retry uses the same options.
    const once = outputOptionsSchema.parse({ format: 'avif', fit: 'cover', position: 'attention' });
    assert.deepEqual(outputOptionsSchema.parse(once), once);
  });

  it('names the field of every bad value', () => {
    const cases: [object, string][] = [
      [{ width: 0 }, 'width'],
      [{ width: 800.5 }, 'width'],
      [{ width: '800' }, 'width'],
      [{ height: 9000 }, 'height'],
      [{ fit: 'contain' }, 'fit'],
      [{ position: 'top' }, 'position'],
      [{ enlarge: 'yes' }, 'enlarge'],
      [{ format: 'gif' }, 'format'],
      [{ quality: 0 }, 'quality'],
      [{ quality: 101 }, 'quality'],
      [{ progressive: 1 }, 'progressive'],
      [{ mozjpeg: 'true' }, 'mozjpeg'],
      [{ background: 'white' }, 'background'],
      [{ background: '#12345' }, 'background'],
      [{ metadata: 'all' }, 'metadata'],
      [{ keepGps: true }, 'keepGps'],
      [{ template: '' }, 'template'],
      [{ template: 'a/{name}' }, 'template'],
      [{ template: '{nmae}' }, 'template'],
      [{ keepFolders: null }, 'keepFolders'],
      [{ collision: 'replace' }, 'collision'],
      [{ widht: 800 }, 'widht'],
    ];
    for (const [input, field] of cases) {
      const problems = problemsOf(input);
      assert.deepEqual(
        problems.map((p) => p.field),
        [field],
        `${JSON.stringify(input)} → ${JSON.stringify(problems)}`,
      );
      assert.ok(problems[0]!.message.length > 0);
    }
    assert.match(problemsOf({ widht: 800 })[0]!.message, /unknown option "widht"/);
    assert.match(problemsOf({ height: 9000 })[0]!.message, /at most 8192/);
    assert.match(problemsOf({ template: '{nmae}' })[0]!.message, /unknown token \{nmae\}/);
  });

  it('reports several bad fields at once, and a non-object as `options`', () => {
    assert.deepEqual(
      problemsOf({ width: -1, format: 'bmp' })
        .map((p) => p.field)
        .sort(),
      ['format', 'width'],
    );
    assert.deepEqual(
      problemsOf('800x600').map((p) => p.field),
      ['options'],
    );
    assert.deepEqual(
      problemsOf([]).map((p) => p.field),
      ['options'],
    );
  });

  it('is built against a server’s limits and defaults', () => {
    const schema = buildOutputOptionsSchema(
      { maxWidth: 2000, maxHeight: 2000, formats: ['jpeg', 'webp'] },
      { ...DEFAULT_OUTPUT_OPTIONS, width: 1024, height: 768, quality: 90 },
    );
    const defaults = schema.parse({});
    assert.deepEqual([defaults.width, defaults.height, defaults.quality], [1024, 768, 90]);
    assert.equal(schema.parse({ format: 'webp' }).quality, 80, 'the server default quality is for its default format');
    assert.deepEqual(
      problemsOf({ width: 2560 }, schema).map((p) => p.field),
      ['width'],
    );
    assert.deepEqual(
      problemsOf({ format: 'avif' }, schema).map((p) => p.field),
      ['format'],
    );
    assert.equal(parseOutputOptions({ width: 3840, height: 2160 }).ok, true, 'the 4K preset fits the built-in limits');
    assert.equal(DEFAULT_OUTPUT_LIMITS.maxWidth, 8192);
  });

  it('reads options from a query string, leaving other parameters out', () => {
    const query = { width: '1280', height: '960', enlarge: 'true', keepFolders: '0', format: 'webp', quality: '70', batchId: 'abc' };
    const options = outputOptionsSchema.parse(outputOptionsFromQuery(query));
    assert.deepEqual(
      [options.width, options.height, options.enlarge, options.keepFolders, options.format, options.quality],
      [1280, 960, true, false, 'webp', 70],
    );
    assert.deepEqual(
      problemsOf(outputOptionsFromQuery({ width: 'wide' })).map((p) => p.field),
      ['width'],
    );
    assert.deepEqual(
      problemsOf(outputOptionsFromQuery({ enlarge: 'maybe' })).map((p) => p.field),
      ['enlarge'],
    );
  });

  it('sizes in one of five ways, told by the fields given; the others come back null', () => {
    const size = (input: object) => {
      const o = outputOptionsSchema.parse(input);
      return [o.width, o.height, o.longEdge, o.scale];
    };
    assert.deepEqual(size({}), [800, 600, null, null], 'none: the default box');
    assert.deepEqual(size({ width: 1000 }), [1000, null, null, null], 'width alone: height follows (not 1000x600)');
    assert.deepEqual(size({ height: 300 }), [null, 300, null, null]);
    assert.deepEqual(size({ width: 1000, height: null }), [1000, null, null, null], 'a cleared height is no height');
    assert.deepEqual(size({ longEdge: 1000 }), [null, null, 1000, null]);
    assert.deepEqual(size({ scale: 25 }), [null, null, null, 25]);
    assert.deepEqual(size({ scale: 12.5 }), [null, null, null, 12.5], 'a percentage may have decimals');
    assert.deepEqual(size({ scale: 150, enlarge: true }), [null, null, null, 150]);
    // What it gives parses again to itself (stored options are checked again at claim).
    for (const input of [{ width: 1000 }, { longEdge: 640, maxBytes: 200_000 }, { scale: 40, format: 'webp' }, { height: 90 }]) {
      const once = outputOptionsSchema.parse(input);
      assert.deepEqual(outputOptionsSchema.parse(once), once, JSON.stringify(input));
    }
    // A server whose default is a long edge gives it when nothing is said, and not when a size is.
    const longDefault = buildOutputOptionsSchema(DEFAULT_OUTPUT_LIMITS, { ...DEFAULT_OUTPUT_OPTIONS, width: null, height: null, longEdge: 2048 });
    assert.deepEqual([longDefault.parse({}).longEdge, longDefault.parse({ width: 500 }).longEdge], [2048, null]);
  });

  it('refuses combinations that mean nothing, naming the field that does not belong', () => {
    const cases: [object, string, RegExp][] = [
      [{ scale: 50, longEdge: 1000 }, 'scale', /cannot be combined/],
      [{ scale: 50, width: 1000 }, 'scale', /cannot be combined/],
      [{ longEdge: 1000, height: 500 }, 'longEdge', /cannot be combined/],
      [{ scale: 150 }, 'scale', /needs enlarge/],
      [{ scale: 0 }, 'scale', /at least/],
      [{ scale: 5000, enlarge: true }, 'scale', /at most/],
      [{ scale: '50%' }, 'scale', /percentage/],
      [{ longEdge: 0 }, 'longEdge', /at least 1/],
      [{ longEdge: 9000 }, 'longEdge', /at most 8192/],
      [{ fit: 'cover', width: 500 }, 'fit', /both width and height/],
      [{ fit: 'cover', longEdge: 500 }, 'fit', /both width and height/],
      [{ maxBytes: 100_000, format: 'png' }, 'maxBytes', /JPEG, WebP or AVIF/],
      [{ maxBytes: 100 }, 'maxBytes', /at least 1024/],
      [{ maxBytes: 20.5 }, 'maxBytes', /whole number/],
    ];
    for (const [input, field, message] of cases) {
      const problems = problemsOf(input);
      assert.deepEqual(
        problems.map((p) => p.field),
        [field],
        `${JSON.stringify(input)} → ${JSON.stringify(problems)}`,
      );
      assert.match(problems[0]!.message, message, JSON.stringify(input));
    }
    assert.equal(parseOutputOptions({ fit: 'cover', width: 500, height: 500 }).ok, true);
    assert.equal(parseOutputOptions({ maxBytes: 100_000, format: 'avif' }).ok, true);
  });

  it('reads the modes from a query string; an empty size parameter is not given', () => {
    const parse = (query: Record<string, string>) => outputOptionsSchema.parse(outputOptionsFromQuery(query));
    assert.deepEqual([parse({ width: '1000', height: '' }).width, parse({ width: '1000', height: '' }).height], [1000, null]);
    assert.equal(parse({ longEdge: '1600' }).longEdge, 1600);
    assert.equal(parse({ scale: '33.5' }).scale, 33.5);
    assert.equal(parse({ maxBytes: '250000', format: 'webp' }).maxBytes, 250000);
    assert.deepEqual(
      problemsOf(outputOptionsFromQuery({ scale: 'half' })).map((p) => p.field),
      ['scale'],
    );
  });

  it('gives each format its content type and extension', () => {
    assert.deepEqual(
      (['jpeg', 'webp', 'avif', 'png'] as const).map((f) => [contentTypeOf(f), extensionOf(f)]),
      [
        ['image/jpeg', 'jpg'],
        ['image/webp', 'webp'],
        ['image/avif', 'avif'],
        ['image/png', 'png'],
      ],
    );
  });
});

describe('output naming', () => {
  const values = { name: 'IMG_0001', ext: 'JPG', width: 800, height: 600 };

  it('fills the new tokens and ends in the format’s extension', () => {
    assert.equal(renderName('{name}_{w}x{h}', values), 'IMG_0001_800x600.jpg');
    assert.equal(renderName('{batch}-{index}-{name}.{format}', { ...values, batch: 'b7', index: 3, format: 'webp' }), 'b7-3-IMG_0001.webp');
    assert.equal(renderName('{name}_{width}x{height}.jpg', { ...values, format: 'avif' }), 'IMG_0001_800x600.avif', 'a literal .jpg is replaced');
    assert.equal(renderName('{name}.{ext}', { ...values, ext: 'png', format: 'png' }), 'IMG_0001.png');
    assert.equal(renderName('{name}.{ext}', { ...values, format: 'webp' }), 'IMG_0001.JPG.webp', 'an original extension is never passed off as the output’s');
  });

  it('keeps the folder structure only when asked, and never lets a path escape', () => {
    const options = { ...DEFAULT_OUTPUT_OPTIONS, template: '{name}_{w}x{h}', format: 'png' as const };
    const source = { path: 'trip/day 1/IMG_1.JPG', width: 640, height: 480 };
    assert.equal(outputRelativePath(options, source), 'trip/day 1/IMG_1_640x480.png');
    assert.equal(outputRelativePath({ ...options, keepFolders: false }, source), 'IMG_1_640x480.png');
    assert.equal(outputRelativePath(options, { ...source, path: '../../etc/a.jpg' }), 'etc/a_640x480.png');
    assert.equal(outputRelativePath(options, { ...source, path: 'C:\\photos\\x:y\\a.jpg' }), 'C_/photos/x_y/a_640x480.png');
    assert.equal(outputRelativePath(options, { ...source, path: '/abs/a.jpg' }), 'abs/a_640x480.png');
  });

  it('applies the collision policy: suffix, skip or overwrite', () => {
    const taken = new Set(['a.jpg', 'a (1).jpg', 'dir/b.png']);
    assert.equal(resolveCollision('a.jpg', taken, 'suffix'), 'a (2).jpg');
    assert.equal(resolveCollision('A.JPG', taken, 'suffix'), 'A (2).JPG', 'names differing only in case collide');
    assert.equal(resolveCollision('dir/b.png', taken, 'suffix'), 'dir/b (1).png');
    assert.equal(resolveCollision('a.jpg', taken, 'skip'), null);
    assert.equal(resolveCollision('a.jpg', taken, 'overwrite'), 'a.jpg');
    assert.equal(resolveCollision('new.jpg', taken, 'skip'), 'new.jpg');
  });
});
