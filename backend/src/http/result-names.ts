/**
 * What a result is called and served as: its batch's naming template and
 * format (the earlier rows, stored before options existed, use the
 * server's defaults, which are the earlier system's JPEG rules).
 */
import { contentTypeOf, extensionOf, outputRelativePath, resolveCollision, type OutputOptions } from '../contract/output-options.js';
import type { ImageSummary } from '../contract/api.js';
import { nameKey } from '../contract/file-names.js';

type Named = Pick<ImageSummary, 'id' | 'batchId' | 'filename' | 'sourcePath' | 'width' | 'height' | 'options'>;

export function optionsOf(image: Pick<ImageSummary, 'options'>, defaults: OutputOptions): OutputOptions {
  return image.options ?? defaults;
}

export function resultContentType(image: Pick<ImageSummary, 'options'>, defaults: OutputOptions): string {
  return contentTypeOf(optionsOf(image, defaults).format);
}

/** The earlier route's name: `processed_<id>.jpg` (or the batch's format's extension). */
export function legacyResultName(image: Pick<ImageSummary, 'id' | 'options'>, defaults: OutputOptions): string {
  return `processed_${image.id}.${extensionOf(optionsOf(image, defaults).format)}`;
}

/**
 * Where the result goes in an output folder or a ZIP: the template, and the
 * folders when the batch keeps them. `index` is the image's position in its
 * batch (batchIndex): the same in a single download and in the ZIP.
 */
export function resultPath(image: Named, defaults: OutputOptions, index: number): string {
  const options = optionsOf(image, defaults);
  return outputRelativePath(options, {
    path: image.sourcePath ?? image.filename,
    width: image.width ?? 0,
    height: image.height ?? 0,
    batch: image.batchId.slice(0, 8),
    id: image.id,
    index,
  });
}

/** A single result's download name: its path's last segment. */
export function resultFilename(image: Named, defaults: OutputOptions, index: number): string {
  return resultPath(image, defaults, index).split('/').pop() ?? '';
}

/**
 * Names in one ZIP: the batch's collision policy, names compared as file
 * systems compare them (NFC/NFD twins and case variants collide). An
 * `overwrite` of an earlier entry is impossible in a ZIP, so it suffixes.
 */
export class ZipNames {
  private readonly taken = new Set<string>();

  constructor(private readonly defaults: OutputOptions) {}

  next(image: Named, index: number): string | null {
    const options = optionsOf(image, this.defaults);
    const wanted = resultPath(image, this.defaults, index);
    // In a ZIP, an "overwrite" of an earlier entry is not possible; a suffix keeps both.
    const policy = options.collision === 'overwrite' ? 'suffix' : options.collision;
    const name = resolveCollision(wanted, this.taken, policy);
    if (name) this.taken.add(nameKey(name));
    return name;
  }
}
