/**
 * The batch's output options on this computer: "Resize locally" and the
 * preview's promised size against the backend's own render function in
 * this process, for every format, fit and metadata choice; names, folders
 * and the collision policy in the output folder; the settings that
 * remember the options; the config a server announces.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Metadata } from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS, OUTPUT_FORMATS, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import { DEFAULT_RULES, renderImage } from '@imgfleet/backend/imaging';
import { scanPaths } from '../../src/main/services/file-scanner.js';
import { resizeLocally } from '../../src/main/services/local-resizer.js';
import { writeOutput } from '../../src/main/services/output-writer.js';
import { renderName } from '../../src/shared/naming-template.js';
import { createPreviewer } from '../../src/main/services/previewer.js';
import { SettingsStore } from '../../src/main/services/settings-store.js';
import { OFFLINE_CONFIG, parseServerConfig, validateOptions } from '../../src/shared/server-config.js';
import { images } from '../support/backend-support.js';
import { removeDir, tempDir } from '../support/paths.js';

const EXIF_DATE = '2024:05:17 10:11:12';
const COPYRIGHT = 'imgfleet test photographer';

/** A camera-like JPEG: rotated by EXIF, with a date, a copyright and a GPS position. */
async function cameraJpeg(width: number, height: number): Promise<Buffer> {
  const plain = await images.makeImage({ width, height, seed: 7 });
  return sharp(plain)
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Copyright: COPYRIGHT, DateTime: EXIF_DATE },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' },
    })
    .jpeg({ quality: 90 })
    .toBuffer();
}

function matrix(): OutputOptions[] {
  const sets: OutputOptions[] = [];
  for (const format of OUTPUT_FORMATS) {
    for (const fit of ['inside', 'cover'] as const) {
      for (const metadata of ['strip', 'keep'] as const) {
        sets.push({
          ...DEFAULT_OUTPUT_OPTIONS,
          width: 640,
          height: 480,
          fit,
          format,
          metadata,
          keepGps: metadata === 'keep' && format === 'jpeg',
          quality: format === 'png' ? 100 : 70,
          progressive: format === 'jpeg' && fit === 'cover',
          mozjpeg: format === 'jpeg' && metadata === 'keep',
          template: `{name}_${format}_${fit}_${metadata}_{w}x{h}.{format}`,
        });
      }
    }
  }
  return sets;
}

describe('output options on the desktop', () => {
  let dir: string;
  let jpegPath: string;
  let pngPath: string;

  before(async () => {
    dir = await tempDir('output-options');
    jpegPath = path.join(dir, 'in', 'camera.jpg');
    pngPath = path.join(dir, 'in', 'logo.png');
    await fs.mkdir(path.dirname(jpegPath), { recursive: true });
    await fs.writeFile(jpegPath, await cameraJpeg(1600, 1200));
    await fs.writeFile(pngPath, await images.makeImage({ width: 900, height: 500, format: 'png', alpha: true }));
  });
  after(() => removeDir(dir));

  it('"Resize locally" writes renderImage\'s exact bytes for every format, fit and metadata choice', async () => {
    const sets = matrix();
    assert.equal(sets.length, 16);
    for (const [i, options] of sets.entries()) {
      for (const source of [jpegPath, pngPath]) {
        const out = path.join(dir, `matrix-${i}`);
        const summary = await resizeLocally([{ key: source, path: source }], { folder: out, options, rules: DEFAULT_RULES });
        const outcome = summary.results[0]!;
        assert.ok(outcome.ok, `${JSON.stringify(options)}: ${outcome.ok ? '' : outcome.error}`);
        const expected = await renderImage(await fs.readFile(source), options, DEFAULT_RULES);
        const written = await fs.readFile(outcome.path);
        assert.ok(written.equals(expected.data), `${options.format}/${options.fit}/${options.metadata} of ${path.basename(source)}: bytes differ`);
        assert.equal(outcome.bytes, expected.data.length);
        assert.equal(path.extname(outcome.path), `.${options.format === 'jpeg' ? 'jpeg' : options.format}`);
        const meta = await sharp(written).metadata();
        assert.deepEqual([meta.width, meta.height], [expected.width, expected.height]);
      }
    }
  });

  it('keep carries the EXIF date and copyright (GPS only when asked), strip carries nothing', async () => {
    const base = { ...DEFAULT_OUTPUT_OPTIONS, template: '{name}_{index}.jpg' };
    const run = async (options: OutputOptions, folder: string): Promise<Metadata> => {
      const summary = await resizeLocally([{ key: 'k', path: jpegPath }], { folder: path.join(dir, folder), options });
      const outcome = summary.results[0]!;
      assert.ok(outcome.ok);
      return sharp(await fs.readFile(outcome.path)).metadata();
    };
    const stripped = await run(base, 'strip');
    assert.equal(stripped.exif, undefined);
    const kept = await run({ ...base, metadata: 'keep' }, 'keep');
    const keptExif = kept.exif?.toString('latin1') ?? '';
    assert.ok(keptExif.includes(COPYRIGHT) && keptExif.includes(EXIF_DATE), 'date and copyright kept');
    assert.ok(!keptExif.includes('GPS') || !(await hasGps(kept)), 'no GPS without keepGps');
    const withGps = await run({ ...base, metadata: 'keep', keepGps: true }, 'gps');
    assert.ok(await hasGps(withGps), 'GPS kept with keepGps');
  });

  it("the preview promises the size renderImage makes for the batch's box, fit and enlarge", async () => {
    const previewer = createPreviewer({ concurrency: 1 });
    const boxes: Pick<OutputOptions, 'width' | 'height' | 'fit' | 'enlarge'>[] = [
      { width: 800, height: 600, fit: 'inside', enlarge: false },
      { width: 500, height: 500, fit: 'cover', enlarge: false },
      { width: 3840, height: 2160, fit: 'inside', enlarge: true },
      { width: 3840, height: 2160, fit: 'inside', enlarge: false },
      { width: 1000, height: 300, fit: 'cover', enlarge: true },
    ];
    for (const box of boxes) {
      for (const source of [jpegPath, pngPath]) {
        const preview = await previewer.preview(source, box);
        assert.ok(preview.ok);
        const result = await renderImage(await fs.readFile(source), { ...DEFAULT_OUTPUT_OPTIONS, ...box }, DEFAULT_RULES);
        assert.deepEqual(preview.target, { width: result.width, height: result.height }, `${JSON.stringify(box)} ${path.basename(source)}`);
      }
    }
  });

  it('keeps the dropped folders, names by the template, and applies the collision policy', async () => {
    const drop = path.join(dir, 'drop');
    const day1 = path.join(drop, 'trip', 'day 1');
    await fs.mkdir(day1, { recursive: true });
    await fs.copyFile(jpegPath, path.join(day1, 'IMG_1.JPG'));
    await fs.copyFile(jpegPath, path.join(drop, 'trip', 'IMG_2.jpg'));
    const scan = await scanPaths([path.join(drop, 'trip')]);
    assert.deepEqual(scan.files.map((f) => f.relativePath).sort(), ['trip/IMG_2.jpg', 'trip/day 1/IMG_1.JPG']);
    const refs = scan.files.map((f) => ({ key: f.path, path: f.path, ...(f.relativePath ? { relativePath: f.relativePath } : {}) }));

    const out = path.join(dir, 'out-folders');
    const options: OutputOptions = { ...DEFAULT_OUTPUT_OPTIONS, format: 'webp', quality: 60, template: '{index}-{name}_{w}x{h}' };
    const first = await resizeLocally(refs, { folder: out, options });
    assert.equal(first.written, 2);
    const names = first.results.map((r) => (r.ok ? path.relative(out, r.path).split(path.sep).join('/') : r.error)).sort();
    assert.ok(names.some((n) => n.startsWith('trip/day 1/') && n.endsWith('IMG_1_450x600.webp')));
    assert.ok(names.some((n) => /^trip\/\d-IMG_2_450x600\.webp$/.test(n)));

    // Without keepFolders everything lands in the folder itself.
    const flat = await resizeLocally(refs, { folder: path.join(dir, 'out-flat'), options: { ...options, keepFolders: false } });
    for (const r of flat.results) assert.ok(r.ok && path.dirname(r.path) === path.join(dir, 'out-flat'));

    // The same run again: suffix adds " (1)", skip leaves the file, overwrite replaces it.
    const again = await resizeLocally(refs, { folder: out, options });
    assert.ok(again.results.every((r) => r.ok && r.path.endsWith(' (1).webp')));
    const skipped = await resizeLocally(refs, { folder: out, options: { ...options, collision: 'skip' } });
    assert.equal(skipped.written, 0);
    assert.ok(skipped.results.every((r) => r.ok && r.skipped === true));
    const before = (await fs.readdir(path.join(out, 'trip'))).length;
    const replaced = await resizeLocally(refs, { folder: out, options: { ...options, collision: 'overwrite', quality: 20 } });
    assert.equal(replaced.written, 2);
    assert.equal((await fs.readdir(path.join(out, 'trip'))).length, before, 'overwrite adds no file');
    const r0 = replaced.results[0]!;
    assert.ok(r0.ok);
    assert.equal((await fs.readFile(r0.path)).length, r0.bytes, 'the replaced file holds the new bytes');
  });

  it('the writer never leaves the output folder and skip keeps the earlier bytes', async () => {
    const out = path.join(dir, 'writer');
    await writeOutput(out, 'a/b.jpg', Buffer.from('first'), 'suffix');
    const skip = await writeOutput(out, 'a/b.jpg', Buffer.from('second'), 'skip');
    assert.equal(skip.skipped, true);
    assert.equal(await fs.readFile(path.join(out, 'a', 'b.jpg'), 'utf8'), 'first');
    await assert.rejects(writeOutput(out, '../escape.jpg', Buffer.from('x'), 'overwrite'), /outside/);
  });

  it('writes the longest names the template makes, under every collision policy (issue 18, item 7)', async () => {
    const out = path.join(dir, 'long-names');
    const name = renderName('{name}_{w}x{h}.jpg', { name: '😀'.repeat(200), ext: 'jpg', width: 800, height: 600 });
    assert.ok(Buffer.byteLength(name) > 240 && Buffer.byteLength(name) <= 247);
    for (const policy of ['suffix', 'overwrite', 'suffix', 'overwrite'] as const) {
      const written = await writeOutput(out, name, Buffer.from(policy), policy);
      assert.ok(Buffer.byteLength(path.basename(written.path)) <= 255);
    }
    // suffix: the name; overwrite: replaces it; suffix: "(1)"; overwrite: the name again. No temporary file is left.
    assert.deepEqual((await fs.readdir(out)).sort(), [name, name.replace(/\.jpg$/, ' (1).jpg')].sort());
  });

  it('the settings remember the options, refuse bad ones naming the field, and keep one template', async () => {
    const folder = path.join(dir, 'settings');
    const store = await SettingsStore.open(folder);
    const chosen: OutputOptions = { ...DEFAULT_OUTPUT_OPTIONS, width: 1920, height: 1080, format: 'avif', quality: 45, template: '{name}-{w}.avif' };
    await store.update({ outputOptions: chosen });
    assert.equal(store.get().namingTemplate, '{name}-{w}.avif');
    const reopened = await SettingsStore.open(folder);
    assert.deepEqual(reopened.get().outputOptions, chosen);
    await assert.rejects(reopened.update({ outputOptions: { ...chosen, quality: 0 } }), /outputOptions\.quality/);
    await assert.rejects(reopened.update({ outputOptions: { ...chosen, format: 'gif' as never } }), /outputOptions\.format/);
    assert.deepEqual(reopened.get().outputOptions, chosen, 'a refused change changes nothing');
    await reopened.update({ namingTemplate: '{name}.jpg' });
    assert.equal(reopened.get().outputOptions.template, '{name}.jpg');

    // A settings file from before the panel: its template carries into the options.
    const old = path.join(dir, 'settings-old');
    await fs.mkdir(old, { recursive: true });
    await fs.writeFile(path.join(old, 'settings.json'), JSON.stringify({ namingTemplate: '{id}-{name}.jpg' }));
    assert.equal((await SettingsStore.open(old)).get().outputOptions.template, '{id}-{name}.jpg');
  });

  it("validates against the connected server's limits and falls back to the offline config", () => {
    const served = parseServerConfig({
      version: '1.2.3',
      defaults: { ...DEFAULT_OUTPUT_OPTIONS },
      limits: {
        maxWidth: 2000,
        maxHeight: 2000,
        maxUploadBytes: 1_000_000,
        maxPixels: 50_000_000,
        maxFilesPerUpload: 10,
        formats: ['jpeg', 'webp'],
        decodeMemoryBytes: 1,
      },
      presets: [{ label: '800 × 600', width: 800, height: 600 }],
      formats: ['jpeg', 'webp'],
    });
    assert.ok(served);
    assert.equal(served.source, 'server');
    const wide = validateOptions({ ...DEFAULT_OUTPUT_OPTIONS, width: 3840 }, served);
    assert.ok(!wide.ok && wide.problems.some((p) => p.field === 'width' && p.message.includes('2000')));
    const avif = validateOptions({ ...DEFAULT_OUTPUT_OPTIONS, format: 'avif' }, served);
    assert.ok(!avif.ok && avif.problems.some((p) => p.field === 'format'));
    assert.ok(validateOptions({ ...DEFAULT_OUTPUT_OPTIONS, width: 3840 }, OFFLINE_CONFIG).ok);
    assert.equal(parseServerConfig({ error: 'not found' }), null);
    assert.equal(parseServerConfig(null), null);
  });
});

async function hasGps(meta: Metadata): Promise<boolean> {
  if (!meta.exif) return false;
  const exifReader = (await import('exif-reader')).default;
  const parsed = exifReader(meta.exif) as { GPSInfo?: Record<string, unknown> };
  return parsed.GPSInfo !== undefined && Object.keys(parsed.GPSInfo).length > 0;
}
