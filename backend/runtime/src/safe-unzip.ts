/**
 * Extracts a function's ZIP into a private folder, refusing anything that
 * could write outside it or exhaust the disk: entries with `..` or absolute
 * paths (zip-slip), symbolic links, encrypted entries, and archives over the
 * entry-count or total-size limits. Refusal is all-or-nothing: the caller
 * removes the half-written folder, so a refused archive never runs.
 *
 * Names are decoded and checked here rather than by yauzl's own validation so
 * the refusal says which entry and why.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { FunctionError } from './errors.js';

export interface ZipLimits {
  /** Total uncompressed bytes over all entries. */
  maxBytes: number;
  maxEntries: number;
}

export interface ExtractResult {
  files: string[];
  bytes: number;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
/** Upper byte of "version made by": the host system that wrote the external attributes. */
const HOST_UNIX = 3;

function refuse(message: string): FunctionError {
  return new FunctionError('unsafe_archive', `ZIP refused: ${message}`);
}

/** The entry's path inside the folder, or a refusal explaining why it has none. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0')) throw refuse(`entry ${JSON.stringify(name)} has a NUL byte in its name`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.startsWith('//')) {
    throw refuse(`entry ${JSON.stringify(name)} has an absolute path`);
  }
  const parts = name.split('/');
  if (parts.includes('..')) throw refuse(`entry ${JSON.stringify(name)} escapes the target folder`);
  const relative = parts.filter((p) => p !== '' && p !== '.').join('/');
  if (relative === '') throw refuse(`entry ${JSON.stringify(name)} has an empty path`);
  return relative;
}

function entryType(entry: Entry, name: string): 'file' | 'dir' {
  const madeBy = entry.versionMadeBy >> 8;
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (madeBy === HOST_UNIX && mode === S_IFLNK) {
    throw refuse(`entry ${JSON.stringify(name)} is a symbolic link`);
  }
  if (madeBy === HOST_UNIX && mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) {
    throw refuse(`entry ${JSON.stringify(name)} is not a regular file or folder`);
  }
  return name.endsWith('/') || (madeBy === HOST_UNIX && mode === S_IFDIR) ? 'dir' : 'file';
}

function openZip(zipPath: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true }, (err, zip) => {
      if (err) reject(new FunctionError('load', `not a readable ZIP (${zipPath}): ${err.message}`));
      else resolve(zip);
    });
  });
}

/** Counts bytes as they are written, so a lying size field cannot get past the limit. */
function byteCounter(budget: { left: number }, name: string): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      budget.left -= chunk.length;
      if (budget.left < 0) callback(refuse(`entry ${JSON.stringify(name)} goes past the size limit`));
      else callback(null, chunk);
    },
  });
}

/** Extracts `zipPath` into `destDir` (which must exist and be empty). */
export async function extractZip(zipPath: string, destDir: string, limits: ZipLimits): Promise<ExtractResult> {
  const zip = await openZip(zipPath);
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw refuse(`${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`);
    }
    const root = path.resolve(destDir);
    const seen = new Set<string>();
    const files: string[] = [];
    let declared = 0;
    const budget = { left: limits.maxBytes };

    const nextEntry = () =>
      new Promise<Entry | null>((resolve, reject) => {
        const onEntry = (entry: Entry) => done(() => resolve(entry));
        const onEnd = () => done(() => resolve(null));
        const onError = (err: Error) => done(() => reject(err instanceof FunctionError ? err : new FunctionError('load', `corrupt ZIP: ${err.message}`)));
        const done = (settle: () => void) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          settle();
        };
        zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
        zip.readEntry();
      });

    for (let entry = await nextEntry(); entry !== null; entry = await nextEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const relative = safeEntryPath(name);
      const type = entryType(entry, name);
      const target = path.resolve(root, relative);
      // Belt and braces: the name checks above should make this impossible.
      if (target !== root && !target.startsWith(root + path.sep)) {
        throw refuse(`entry ${JSON.stringify(name)} escapes the target folder`);
      }
      if (seen.has(relative)) throw refuse(`entry ${JSON.stringify(name)} appears twice`);
      seen.add(relative);

      if (type === 'dir') {
        await mkdir(target, { recursive: true, mode: 0o700 });
        continue;
      }
      if (entry.isEncrypted()) throw refuse(`entry ${JSON.stringify(name)} is encrypted`);
      if (!entry.canDecodeFileData()) {
        throw refuse(`entry ${JSON.stringify(name)} uses unsupported compression method ${entry.compressionMethod}`);
      }
      declared += entry.uncompressedSize;
      if (declared > limits.maxBytes) {
        throw refuse(`uncompressed size exceeds the limit of ${limits.maxBytes} bytes (at entry ${JSON.stringify(name)})`);
      }
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      const source = await zip.openReadStreamPromise(entry);
      try {
        await pipeline(source, byteCounter(budget, name), createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      } catch (err) {
        if (err instanceof FunctionError) throw err;
        throw new FunctionError('load', `corrupt ZIP entry ${JSON.stringify(name)}: ${(err as Error).message}`);
      }
      files.push(relative);
    }
    return { files, bytes: limits.maxBytes - budget.left };
  } finally {
    zip.close();
  }
}
