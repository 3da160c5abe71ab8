/**
 * What the watched folder remembers between runs, as a small JSON file in
 * the user data folder (written atomically, as settings are): the batch its
 * photos go into, and each file taken, by path with the size and
 * modification time it had, so the same file is never processed twice,
 * across restarts too. A file changed since (another size or time) is a
 * new photo. An upload is remembered before it is sent, with its
 * Idempotency-Key: after a crash the same request is made again and the
 * backend answers with the image it already has, not a second one.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeAtomically } from './settings-store.js';

export const WATCH_STATE_FILE_NAME = 'watched-folder.json';

const entrySchema = z.object({
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  /** sending: remembered, maybe sent; sent: the backend has it (id); done: written; failed: will not be tried again. */
  stage: z.enum(['sending', 'sent', 'done', 'failed']),
  idempotencyKey: z.string().optional(),
  id: z.number().int().positive().optional(),
  result: z.string().optional(),
  error: z.string().optional(),
});

const stateSchema = z.object({
  version: z.literal(1),
  batchId: z.uuid(),
  files: z.record(z.string(), entrySchema),
});

export type WatchEntry = z.infer<typeof entrySchema>;
export type WatchStateData = z.infer<typeof stateSchema>;

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

export class WatchState {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly data: WatchStateData,
  ) {}

  /** Reads the state; a missing or unreadable file starts afresh (a new batch), the bad one kept aside. */
  static async open(file: string): Promise<WatchState> {
    const raw = await fs.readFile(file, 'utf8').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    if (raw !== null) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(raw);
      } catch {
        /* kept aside below */
      }
      const checked = stateSchema.safeParse(parsed);
      if (checked.success) return new WatchState(file, checked.data);
      await fs.rename(file, `${file}.bad`).catch(() => undefined);
    }
    return new WatchState(file, { version: 1, batchId: randomUUID(), files: {} });
  }

  get batchId(): string {
    return this.data.batchId;
  }

  get(filePath: string): WatchEntry | undefined {
    return this.data.files[filePath];
  }

  /** Taken already, as it is now: the same path, size and modification time. */
  seen(filePath: string, stamp: FileStamp): boolean {
    const entry = this.data.files[filePath];
    return entry !== undefined && entry.size === stamp.size && entry.mtimeMs === stamp.mtimeMs;
  }

  /** Files remembered but not finished (a restart resumes them). */
  unfinished(): [string, WatchEntry][] {
    return Object.entries(this.data.files).filter(([, e]) => e.stage === 'sending' || e.stage === 'sent');
  }

  /** Records and writes the entry; resolves once it is on disk. */
  set(filePath: string, entry: WatchEntry): Promise<void> {
    this.data.files[filePath] = entry;
    const snapshot = JSON.stringify(this.data, null, 2) + '\n';
    // Chained so two quick changes land on disk in order.
    const write = this.writing.then(() => writeAtomically(this.file, snapshot));
    this.writing = write.catch(() => undefined);
    return write;
  }
}
