/**
 * Writes result files under the batch's collision policy. `suffix` and
 * `skip` never replace an existing file: the file is created with O_EXCL
 * ("wx"), so the check and the create are one step and two downloads racing
 * for one name cannot both win. `suffix` then tries "name (1).jpg",
 * "name (2).jpg", … (the shared suffixedName, as the server's ZIP does);
 * `skip` leaves the existing file alone. Only `overwrite` replaces, through
 * a temporary file renamed over the old one (never a half-written result).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { suffixedName, type CollisionPolicy } from '@imgfleet/backend/contract/output-options';

const MAX_SUFFIX = 9999;

export interface Written {
  path: string;
  /** The name was taken and the policy is `skip`: nothing was written. */
  skipped: boolean;
}

/** The relative path (`/`-separated, from outputRelativePath) as a path inside `folder`, refusing any escape. */
export function resolveInside(folder: string, relativePath: string): string {
  const target = path.resolve(folder, ...relativePath.split('/'));
  const root = path.resolve(folder);
  if (target !== root && !target.startsWith(root + path.sep)) throw new Error(`${relativePath} is outside ${folder}`);
  return target;
}

async function createExclusive(file: string, data: Uint8Array): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(data);
  } catch (err) {
    await handle.close();
    // Do not leave a half-written file that a later run would step around.
    await fs.rm(file, { force: true });
    throw err;
  }
  await handle.close();
  return true;
}

async function replace(file: string, data: Uint8Array): Promise<void> {
  // A short name of its own: the result's name may already take the 255 bytes a file name can have.
  const temp = path.join(path.dirname(file), `.imgfleet-${randomBytes(6).toString('hex')}.tmp`);
  await fs.writeFile(temp, data, { flag: 'wx' });
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** An original's access and modification times, given to its result. */
export interface FileTimes {
  atime: Date;
  mtime: Date;
}

/**
 * Writes `data` at `relativePath` inside `folder` (folders created) under
 * `policy`; with `times`, the file written gets them (a skipped one is left as it was).
 */
export async function writeOutput(folder: string, relativePath: string, data: Uint8Array, policy: CollisionPolicy, times?: FileTimes): Promise<Written> {
  const file = resolveInside(folder, relativePath);
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const stamped = async (written: string): Promise<Written> => {
    if (times) await fs.utimes(written, times.atime, times.mtime);
    return { path: written, skipped: false };
  };
  if (policy === 'overwrite') {
    await replace(file, data);
    return stamped(file);
  }
  const name = path.basename(file);
  for (let n = 0; n <= MAX_SUFFIX; n++) {
    const candidate = path.join(dir, n === 0 ? name : suffixedName(name, n));
    if (await createExclusive(candidate, data)) return stamped(candidate);
    if (policy === 'skip') return { path: candidate, skipped: true };
  }
  throw new Error(`no free file name for ${name} in ${dir} after ${MAX_SUFFIX} tries`);
}

/** Writes `data` to `folder/fileName` or its first free " (n)" variant; returns the path used. */
export async function writeUnique(folder: string, fileName: string, data: Uint8Array): Promise<string> {
  return (await writeOutput(folder, fileName.replace(/[/\\]/g, '_'), data, 'suffix')).path;
}
