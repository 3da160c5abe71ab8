/**
 * The second gate, after path-grants: which files the renderer may have
 * *read* (previewed, uploaded, resized locally). A file is readable once a
 * scan of granted paths returned it; it stays readable for the rest of the
 * process (the cards keep using it), whichever window asks. So a compromised
 * page cannot have ~/.ssh/id_rsa uploaded by naming it: it was never in a
 * scan's answer.
 *
 * Compare path-grants: per window, used once, 60 s, and about what may be
 * *scanned*.
 */
import path from 'node:path';
import type { FileRef } from '../shared/models.js';
import { AppError } from './services/app-error.js';

export class ReadableFiles {
  private readonly paths = new Set<string>();

  /** Makes every file of a scan's answer readable; returns the answer. */
  admit<T extends { files: { path: string }[] }>(scan: T): T {
    for (const file of scan.files) this.paths.add(file.path);
    return scan;
  }

  /** Whether a scan returned this file in this process. */
  has(filePath: string): boolean {
    return this.paths.has(path.resolve(filePath));
  }

  /**
   * Makes a file of the last session readable again: one a scan returned
   * then (session:save remembers no other path), still there with the size
   * it had (see handlers/session.ts).
   */
  readmit(filePath: string): void {
    this.paths.add(path.resolve(filePath));
  }

  /** Throws FORBIDDEN_PATH unless every file came from a scan. */
  require(files: readonly Pick<FileRef, 'path'>[]): void {
    for (const file of files) {
      if (!this.paths.has(path.resolve(file.path))) {
        throw new AppError('FORBIDDEN_PATH', `${file.path} was not chosen or dropped in this session`);
      }
    }
  }
}
