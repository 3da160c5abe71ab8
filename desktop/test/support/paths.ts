/** Folders tests use: temporary ones and the repository's test-output/desktop. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** desktop/ (this file is desktop/dist/test/support/paths.js once compiled). */
export const DESKTOP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const REPO_DIR = path.resolve(DESKTOP_DIR, '..');
export const RENDERER_DIR = path.join(DESKTOP_DIR, 'dist', 'renderer');
export const TEST_OUTPUT_DIR = path.join(REPO_DIR, 'test-output', 'desktop');

export async function tempDir(label: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `imgfleet-desktop-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}
