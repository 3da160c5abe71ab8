/**
 * "Keep the originals' dates": a result written on this computer gets its
 * original's access and modification times, so a photo library or a file
 * manager sorting by date puts it where the photo was taken, not where it
 * was resized. (The EXIF dates travel inside the file with metadata `keep`.)
 */
import { promises as fs } from 'node:fs';
import type { FileTimes } from './output-writer.js';

/** The file's times, or undefined when it is gone (the result is then written with the current time). */
export async function originalTimes(file: string): Promise<FileTimes | undefined> {
  const stat = await fs.stat(file).catch(() => null);
  return stat?.isFile() ? { atime: stat.atime, mtime: stat.mtime } : undefined;
}
