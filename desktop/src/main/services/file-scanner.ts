/**
 * Turns dropped or picked paths into the list of photos to work on: folders
 * are walked recursively, and a file is kept when its content is a JPEG, PNG
 * or WebP image (magic bytes, as the backend judges it), whatever its name,
 * or when its name says JPEG (.jpg/.jpeg in any case: then the previewer
 * tells the person what it really is, rather than it vanishing). Everything
 * else is counted (the UI reports "N other files ignored") rather than
 * silently dropped.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { detectFormat } from '@imgfleet/backend/imaging/detect';
import type { ScanResult, ScannedFile } from '../../shared/models.js';

/** Enough for every signature detectFormat knows (WebP's is at bytes 8–11). */
const MAGIC_BYTES = 12;

/** Whether the file's first bytes are an image the backend takes; false when it cannot be read. */
export async function hasImageContent(filePath: string): Promise<boolean> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(filePath, 'r');
    const head = Buffer.alloc(MAGIC_BYTES);
    const { bytesRead } = await handle.read(head, 0, MAGIC_BYTES, 0);
    return detectFormat(head.subarray(0, bytesRead)) !== null;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

const JPG_EXTENSION = /\.jpe?g$/i;

export function isJpgName(fileName: string): boolean {
  return JPG_EXTENSION.test(fileName);
}

export interface ScanOptions {
  /** Stop after this many files (protects the UI from a drop of the whole disk). */
  maxFiles?: number;
}

export async function scanPaths(paths: readonly string[], options: ScanOptions = {}): Promise<ScanResult> {
  const maxFiles = options.maxFiles ?? 10_000;
  const files: ScannedFile[] = [];
  const seenFiles = new Set<string>();
  // Real paths of folders already walked: symbolic links can form cycles.
  const seenDirs = new Set<string>();
  const unreadable: string[] = [];
  let ignored = 0;

  const addFile = async (filePath: string, size?: number, root?: string): Promise<void> => {
    const absolute = path.resolve(filePath);
    if (seenFiles.has(absolute) || files.length >= maxFiles) return;
    if (!isJpgName(filePath) && !(await hasImageContent(absolute))) {
      ignored++;
      return;
    }
    seenFiles.add(absolute);
    const bytes = size ?? (await fs.stat(absolute)).size;
    const file: ScannedFile = { path: absolute, name: path.basename(absolute), size: bytes };
    // The dropped folder's own name is part of it, as a browser's webkitRelativePath has it.
    if (root !== undefined) file.relativePath = path.relative(root, absolute).split(path.sep).join('/');
    files.push(file);
  };

  const walk = async (dir: string, root: string): Promise<void> => {
    let real: string;
    let entries: Dirent[];
    try {
      real = await fs.realpath(dir);
      if (seenDirs.has(real)) return;
      seenDirs.add(real);
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      unreadable.push(dir);
      return;
    }
    // Sorted so the cards appear in a stable, predictable order.
    entries.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    for (const entry of entries) {
      if (files.length >= maxFiles) return;
      const full = path.join(dir, entry.name);
      await visit(full, entry, root);
    }
  };

  /** `root`: the parent of the dropped folder the target was found in; none for a dropped file. */
  const visit = async (target: string, entry?: Dirent, root?: string): Promise<void> => {
    try {
      if (entry?.isDirectory()) {
        await walk(target, root ?? path.dirname(target));
        return;
      }
      if (entry?.isFile()) {
        await addFile(target, undefined, root);
        return;
      }
      // Symbolic links, or a top-level path without a Dirent: ask stat (follows links).
      const stat = await fs.stat(target);
      if (stat.isDirectory()) {
        await walk(target, root ?? path.dirname(target));
        return;
      }
      if (stat.isFile()) {
        await addFile(target, stat.size, root);
        return;
      }
      ignored++; // sockets, devices, fifos
    } catch {
      unreadable.push(target);
    }
  };

  for (const p of paths) await visit(path.resolve(p));
  return { files, ignored, unreadable };
}
