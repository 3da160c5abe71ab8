/**
 * The watched folder: photos that appear in it (or in its subfolders) are
 * taken, once each, and handed to a processor (watch-processor.ts: upload
 * and save the result, or resize locally).
 *
 * When a file is taken: fs.watch reports every write of a copy; a file is
 * looked at again `settleMs` after the last event about it, and taken only
 * when its size and time have not changed since that event (a copy that
 * grew without an event is simply looked at later) and its bytes look
 * whole (file-complete.ts). A file that settles incomplete waits for its
 * next event. The quiet interval is the one timer: no event says "the
 * copy is closed".
 *
 * Once: by path, size and modification time, remembered in WatchState,
 * so a restart neither repeats what was done nor loses what was under way
 * (unfinished uploads are resumed). At start the folder is scanned for
 * what arrived while the app was not running.
 */
import { watch, promises as fs, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { errorInfo } from './app-error.js';
import { looksComplete } from './file-complete.js';
import { hasImageContent } from './file-scanner.js';
import { createLimiter } from './limiter.js';
import type { FileStamp, WatchEntry, WatchState } from './watch-state.js';

export interface WatchProcessor {
  /** Processes a newly taken file, recording its stages in `state`; returns its final entry. */
  process(file: { path: string; relativePath: string }, stamp: FileStamp, state: WatchState): Promise<WatchEntry>;
  /** Finishes a file a previous run left unfinished. */
  resume(file: { path: string; relativePath: string }, entry: WatchEntry, state: WatchState): Promise<WatchEntry>;
  /** Ends the work under way (uploads, waits for results) so stop() does not wait on a cluster that may never answer. */
  stop(): void;
}

export type WatchEvent =
  | { type: 'ready'; folder: string; batchId: string }
  | { type: 'incomplete'; path: string; size: number }
  /** Looked at and found taken before, as it is now: left alone. */
  | { type: 'known'; path: string }
  | { type: 'taken'; path: string }
  | { type: 'finished'; path: string; entry: WatchEntry }
  | { type: 'error'; path: string | null; message: string };

export interface FolderWatcherOptions {
  folder: string;
  state: WatchState;
  processor: WatchProcessor;
  /** Quiet time after the last event about a file before it is looked at (default 1000 ms). */
  settleMs?: number;
  /** Folders never looked into: the output folder, when it is inside the watched one. */
  ignore?: readonly string[];
  /** Files processed at once (default 2). */
  concurrency?: number;
  onEvent?: (event: WatchEvent) => void;
}

interface Pending {
  timer: NodeJS.Timeout | null;
  /** The size and time seen at the last event. */
  stamp: FileStamp | null;
}

export class FolderWatcher {
  readonly folder: string;
  private watcher: FSWatcher | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Taken and not finished in this run: events about them are ignored. */
  private readonly busy = new Set<string>();
  private readonly limiter;
  private readonly work = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: FolderWatcherOptions) {
    this.folder = path.resolve(options.folder);
    this.limiter = createLimiter(options.concurrency ?? 2);
  }

  /** Starts watching, then resumes unfinished files and looks at what is already there. */
  async start(): Promise<void> {
    const stat = await fs.stat(this.folder);
    if (!stat.isDirectory()) throw new Error(`${this.folder} is not a folder`);
    // Watching first, so nothing copied during the scan is missed.
    this.watcher = watch(this.folder, { recursive: true, persistent: false }, (_type, name) => {
      if (name) this.touched(path.join(this.folder, name));
    });
    this.watcher.on('error', (err) => this.emit({ type: 'error', path: null, message: errorInfo(err).message }));
    for (const [file, entry] of this.options.state.unfinished()) this.run(file, () => this.options.processor.resume(this.ref(file), entry, this.options.state));
    for (const file of await this.walk(this.folder)) this.touched(file);
    this.emit({ type: 'ready', folder: this.folder, batchId: this.options.state.batchId });
  }

  /** Stops watching, ends the processor's work and waits for it to wind down (what was under way is resumed at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = null;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    this.options.processor.stop();
    await Promise.allSettled([...this.work]);
  }

  private emit(event: WatchEvent): void {
    this.options.onEvent?.(event);
  }

  private ignored(file: string): boolean {
    // Our own temporary files (output-writer, writeAtomically) and hidden ones (a copy's partial file, .DS_Store).
    if (path.basename(file).startsWith('.')) return true;
    return (this.options.ignore ?? []).some((folder) => {
      const root = path.resolve(folder);
      return file === root || file.startsWith(root + path.sep);
    });
  }

  /** An event (or the scan) about `file`: look at it once it has been quiet for settleMs. */
  private touched(file: string): void {
    if (this.stopped || this.busy.has(file) || this.ignored(file)) return;
    const pending = this.pending.get(file) ?? { timer: null, stamp: null };
    this.pending.set(file, pending);
    if (pending.timer) clearTimeout(pending.timer);
    void stampOf(file).then((stamp) => {
      pending.stamp = stamp;
    });
    pending.timer = setTimeout(() => void this.settle(file, pending), this.options.settleMs ?? 1000);
  }

  private async settle(file: string, pending: Pending): Promise<void> {
    pending.timer = null;
    const stamp = await stampOf(file);
    if (this.stopped || this.pending.get(file) !== pending) return;
    if (!stamp) {
      this.pending.delete(file);
      // A folder moved in brings one event for itself, none for its files.
      if ((await fs.stat(file).catch(() => null))?.isDirectory()) for (const inner of await this.walk(file)) this.touched(inner);
      return;
    }
    if (!pending.stamp || pending.stamp.size !== stamp.size || pending.stamp.mtimeMs !== stamp.mtimeMs) {
      // Still changing: look again after another quiet interval.
      this.touched(file);
      return;
    }
    this.pending.delete(file);
    if (this.options.state.seen(file, stamp)) {
      this.emit({ type: 'known', path: file });
      return;
    }
    if (!(await hasImageContent(file))) return;
    if (!(await looksComplete(file).catch(() => false))) {
      // Its next write brings an event, and another look.
      this.emit({ type: 'incomplete', path: file, size: stamp.size });
      return;
    }
    this.emit({ type: 'taken', path: file });
    this.run(file, () => this.options.processor.process(this.ref(file), stamp, this.options.state));
  }

  private ref(file: string): { path: string; relativePath: string } {
    return { path: file, relativePath: path.relative(this.folder, file).split(path.sep).join('/') };
  }

  private run(file: string, task: () => Promise<WatchEntry>): void {
    this.busy.add(file);
    const done = this.limiter
      .run(task)
      .then(
        (entry) => this.emit({ type: 'finished', path: file, entry }),
        (err: unknown) => this.emit({ type: 'error', path: file, message: errorInfo(err).message }),
      )
      .finally(() => {
        this.busy.delete(file);
        this.work.delete(done);
      });
    this.work.add(done);
  }

  private async walk(folder: string): Promise<string[]> {
    const entries = await fs.readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  }
}

async function stampOf(file: string): Promise<FileStamp | null> {
  const stat = await fs.stat(file).catch(() => null);
  return stat?.isFile() ? { size: stat.size, mtimeMs: stat.mtimeMs } : null;
}
