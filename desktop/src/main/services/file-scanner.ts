/**
 * Turns dropped or picked paths into the list of JPGs to work on: folders are
 * walked recursively, files are kept when their extension is .jpg/.jpeg in
 * any case. Everything else is counted (the UI reports "N other files
 * ignored") rather than silently dropped. The content is judged later, by
 * magic bytes, in the previewer and on the backend.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import type { ScanResult, ScannedFile } from '../../shared/models.js';

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

  const addFile = async (filePath: string, size?: number): Promise<void> => {
    if (!isJpgName(filePath)) {
      ignored++;
      return;
    }
    const absolute = path.resolve(filePath);
    if (seenFiles.has(absolute) || files.length >= maxFiles) return;
    seenFiles.add(absolute);
    const bytes = size ?? (await fs.stat(absolute)).size;
    files.push({ path: absolute, name: path.basename(absolute), size: bytes });
  };

  const walk = async (dir: string): Promise<void> => {
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
      await visit(full, entry);
    }
  };

  const visit = async (target: string, entry?: Dirent): Promise<void> => {
    try {
      if (entry?.isDirectory()) return await walk(target);
      if (entry?.isFile()) return await addFile(target);
      // Symbolic links, or a top-level path without a Dirent: ask stat (follows links).
      const stat = await fs.stat(target);
      if (stat.isDirectory()) return await walk(target);
      if (stat.isFile()) return await addFile(target, stat.size);
      ignored++; // sockets, devices, fifos
    } catch {
      unreadable.push(target);
    }
  };

  for (const p of paths) await visit(path.resolve(p));
  return { files, ignored, unreadable };
}
