/**
 * Writes result files without ever replacing an existing one: the file is
 * created with O_EXCL ("wx"), and when the name is taken the next free
 * "name (1).jpg", "name (2).jpg", … is tried. Creating exclusively (rather
 * than checking first) also holds when two downloads race for one name.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { splitName } from '../../shared/naming-template.js';

const MAX_SUFFIX = 9999;

/** Writes `data` to `folder/fileName` or its first free " (n)" variant; returns the path used. */
export async function writeUnique(folder: string, fileName: string, data: Uint8Array): Promise<string> {
  await fs.mkdir(folder, { recursive: true });
  const { base, ext } = splitName(fileName);
  const dotExt = ext === '' ? '' : `.${ext}`;
  for (let n = 0; n <= MAX_SUFFIX; n++) {
    const candidate = path.join(folder, n === 0 ? fileName : `${base} (${n})${dotExt}`);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(candidate, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    try {
      await handle.writeFile(data);
    } catch (err) {
      await handle.close();
      // Do not leave a half-written file that a later run would step around.
      await fs.rm(candidate, { force: true });
      throw err;
    }
    await handle.close();
    return candidate;
  }
  throw new Error(`no free file name for ${fileName} in ${folder} after ${MAX_SUFFIX} tries`);
}
