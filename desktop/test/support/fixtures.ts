/** Photo files on disk, generated in code by the backend's image helper. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { images } from './backend-support.js';

export interface PhotoSpec {
  name: string;
  width: number;
  height: number;
  orientation?: number;
  seed?: number;
}

/** Writes JPEGs into `folder` (created if needed); returns their paths in order. */
export async function writePhotos(folder: string, specs: readonly PhotoSpec[]): Promise<string[]> {
  await fs.mkdir(folder, { recursive: true });
  const paths: string[] = [];
  for (const spec of specs) {
    const data = await images.makeImage({
      width: spec.width,
      height: spec.height,
      seed: spec.seed,
      ...(spec.orientation === undefined ? {} : { orientation: spec.orientation }),
    });
    const file = path.join(folder, spec.name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, data);
    paths.push(file);
  }
  return paths;
}

/** A JPEG cut in half, as an interrupted copy leaves it. */
export async function writeTruncatedPhoto(file: string, width = 1600, height = 1200): Promise<string> {
  const data = await images.makeImage({ width, height, seed: 99 });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, images.truncate(data, 0.5));
  return file;
}
