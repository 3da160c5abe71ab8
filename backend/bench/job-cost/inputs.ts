/**
 * The job-cost bench's inputs, made in code (photo-like with grain, see
 * test/support/images.ts): one per kind of decode the admission has to
 * price, written to a temporary folder the child processes read from.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { makeImage } from '../../test/support/images.js';

export type InputKind =
  'jpeg-12mp' | 'jpeg-20mp' | 'jpeg-12mp-progressive' | 'jpeg-12mp-rotated' | 'png-12mp-rgb8' | 'png-6mp-rgba16-interlaced' | 'webp-12mp' | 'jpeg-small';

export interface InputFile {
  kind: InputKind;
  path: string;
  bytes: number;
  width: number;
  height: number;
  channels: number;
  depth: string;
  /** Progressive JPEG or Adam7 PNG. */
  interlaced: boolean;
  orientation: number | undefined;
}

export interface InputSet {
  dir: string;
  inputs: Map<InputKind, InputFile>;
  /** The reference job's input: a 1 MP JPEG (see child.ts). */
  reference: string;
  remove(): Promise<void>;
}

/** The 12 MP photo as 16-bit RGBA, Adam7-interlaced: the decode that cannot stream. */
async function interlaced16BitPng(): Promise<Buffer> {
  const rgba = await makeImage({ width: 3000, height: 2000, format: 'png', alpha: true, grain: 4 });
  return sharp(rgba).toColourspace('rgb16').png({ progressive: true, compressionLevel: 6 }).toBuffer();
}

const MAKERS: Readonly<Record<InputKind, () => Promise<Buffer>>> = {
  'jpeg-12mp': () => makeImage({ width: 4000, height: 3000, quality: 92, grain: 12, seed: 1 }),
  // The issue's ~6 MB camera photo (AVIF 3840x2160 from it timed out).
  'jpeg-20mp': () => makeImage({ width: 6028, height: 3391, quality: 92, grain: 12, seed: 2 }),
  'jpeg-12mp-progressive': () => makeImage({ width: 4000, height: 3000, quality: 92, grain: 12, seed: 3, progressive: true }),
  // EXIF orientation 6: a quarter turn, which sharp applies before the resize (no shrink-on-load).
  'jpeg-12mp-rotated': () => makeImage({ width: 4000, height: 3000, quality: 92, grain: 12, seed: 4, orientation: 6 }),
  'png-12mp-rgb8': () => makeImage({ width: 4000, height: 3000, format: 'png', grain: 4, seed: 5 }),
  'png-6mp-rgba16-interlaced': interlaced16BitPng,
  'webp-12mp': () => makeImage({ width: 4000, height: 3000, format: 'webp', quality: 80, grain: 12, seed: 6 }),
  // For the enlarge cases.
  'jpeg-small': () => makeImage({ width: 1200, height: 900, quality: 92, grain: 12, seed: 7 }),
};

export const INPUT_KINDS = Object.keys(MAKERS) as InputKind[];

async function describe(kind: InputKind, file: string, bytes: Buffer): Promise<InputFile> {
  const meta = await sharp(bytes).metadata();
  return {
    kind,
    path: file,
    bytes: bytes.length,
    width: meta.width,
    height: meta.height,
    channels: meta.channels,
    depth: meta.depth,
    interlaced: meta.isProgressive,
    orientation: meta.orientation,
  };
}

/** Makes the inputs `kinds` (and the reference) in a fresh temporary folder. */
export async function makeInputs(kinds: readonly InputKind[]): Promise<InputSet> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-job-cost-'));
  const inputs = new Map<InputKind, InputFile>();
  for (const kind of kinds) {
    const bytes = await MAKERS[kind]();
    const file = path.join(dir, kind);
    await writeFile(file, bytes);
    inputs.set(kind, await describe(kind, file, bytes));
  }
  const reference = path.join(dir, 'reference-1mp.jpeg');
  await writeFile(reference, await makeImage({ width: 1155, height: 866, quality: 92, grain: 12, seed: 8 }));
  return { dir, inputs, reference, remove: () => rm(dir, { recursive: true, force: true }) };
}
