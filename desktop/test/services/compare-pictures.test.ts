/**
 * The desktop's before/after pictures (no backend needed before upload):
 * an original Chromium shows is passed as it is, a HEIC (made at test time,
 * rotated as a phone stores it) or a TIFF is decoded here the right way up,
 * and the preview of the result is byte for byte what "Resize locally"
 * writes with the same options.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS } from '@imgfleet/backend/contract/output-options';
import { DEFAULT_RULES } from '@imgfleet/backend/imaging';
import { ApiClient } from '../../src/main/services/api-client.js';
import { comparePictures, pictureOf } from '../../src/main/services/compare-pictures.js';
import { resizeLocally } from '../../src/main/services/local-resizer.js';
import { heif, images } from '../support/backend-support.js';
import { removeDir, tempDir } from '../support/paths.js';

function decode(dataUrl: string): { mime: string; bytes: Buffer } {
  const match = /^data:([^;]+);base64,(.*)$/.exec(dataUrl);
  assert.ok(match, dataUrl.slice(0, 40));
  return { mime: match[1]!, bytes: Buffer.from(match[2]!, 'base64') };
}

describe('before/after pictures on the desktop', () => {
  let work: string;
  let photo: Buffer;

  before(async () => {
    work = await tempDir('compare-pictures');
    photo = await images.makeImage({ width: 1200, height: 900, seed: 51, grain: 6 });
  });
  after(async () => removeDir(work));

  it('passes a JPEG as it is, and decodes HEIC and TIFF the right way up', async () => {
    const jpeg = decode(await pictureOf(photo, DEFAULT_RULES));
    assert.equal(jpeg.mime, 'image/jpeg');
    assert.ok(jpeg.bytes.equals(photo), 'the original bytes, not a re-encode');

    const phone = heif.withRotation(await heif.makeHeic(await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer()), 3);
    const fromHeic = decode(await pictureOf(phone, DEFAULT_RULES));
    const heicMeta = await sharp(fromHeic.bytes).metadata();
    assert.deepEqual([fromHeic.mime, heicMeta.width, heicMeta.height], ['image/jpeg', 900, 1200], 'portrait, as the cluster orients it');

    const tiff = decode(await pictureOf(await sharp(photo).tiff({ compression: 'lzw' }).toBuffer(), DEFAULT_RULES));
    const tiffMeta = await sharp(tiff.bytes).metadata();
    assert.deepEqual([tiff.mime, tiffMeta.width, tiffMeta.height], ['image/jpeg', 1200, 900]);
  });

  it('previews the result as "Resize locally" makes it', async () => {
    const file = path.join(work, 'in', 'beach.jpg');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, photo);
    const options = { ...DEFAULT_OUTPUT_OPTIONS, width: null, height: null, longEdge: 600, format: 'webp' as const };
    // No request reaches the backend before upload: the client points nowhere.
    const pictures = await comparePictures({ path: file }, { client: new ApiClient({ baseUrl: 'http://127.0.0.1:9' }), options, rules: DEFAULT_RULES });
    assert.equal(pictures.resultKind, 'preview');
    assert.ok(decode(pictures.original!).bytes.equals(photo));
    const local = await resizeLocally([{ key: 'a', path: file }], { folder: path.join(work, 'out'), options, rules: DEFAULT_RULES });
    const written = local.results[0]!;
    assert.ok(written.ok);
    const preview = decode(pictures.result!);
    assert.equal(preview.mime, 'image/webp');
    assert.ok(preview.bytes.equals(await fs.readFile(written.path)), 'byte-identical to the local resize');
  });
});
