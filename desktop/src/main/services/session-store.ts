/**
 * The desktop's last session: which batch the main window showed, and its
 * files (name, size, path, the backend's id), kept as JSON in the user data
 * folder so a restart opens the same batch. What the server did with the
 * files is not kept: it is read from the server again. Read back through
 * the same schema the renderer's request passed; a damaged file is no
 * session at all, never a crash. Written atomically, owner-only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { savedBatchSchema } from '../../shared/ipc-contract.js';
import type { SavedBatch } from '../../shared/models.js';
import { writeAtomically } from './settings-store.js';

export const SESSION_FILE_NAME = 'session.json';

export class SessionStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  static in(folder: string): SessionStore {
    return new SessionStore(path.join(folder, SESSION_FILE_NAME));
  }

  /** The remembered batch, or null (none yet, or a file that does not hold one). */
  async load(): Promise<SavedBatch | null> {
    let raw: string;
    try {
      raw = await fs.readFile(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      const parsed = savedBatchSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  save(batch: SavedBatch): Promise<void> {
    const text = JSON.stringify(batch) + '\n';
    // Chained: saves land on disk in the order they were asked for.
    const write = this.writing.then(() => writeAtomically(this.file, text));
    this.writing = write.catch(() => undefined);
    return write;
  }
}
