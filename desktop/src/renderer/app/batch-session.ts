/**
 * The batch as a place to come back to. At start the window shows the
 * batch the host remembers (the page: its address, then this browser's
 * storage; the desktop: its last session, the files still on disk linked
 * again), read whole from the server: cards, statuses, results. Every
 * change is remembered again (shortly, a burst of changes is one save),
 * and "Recent batches" can open any batch of the server the same way.
 */
import { errorMessage, type SavedBatch } from '../platform/platform.js';
import type { Announcer } from './announcer.js';
import type { BatchRun } from './batch-run.js';
import type { FileIntake } from './file-intake.js';
import type { LiveSync } from './live-sync.js';
import type { StatusBar } from './status-bar.js';
import type { UploadFlow } from './upload-flow.js';
import type { WindowContext } from './window-context.js';

/** Changes gathered before they are remembered. */
const SAVE_DELAY_MS = 300;

export interface SessionDeps {
  intake: FileIntake;
  live: LiveSync;
  run: BatchRun;
  uploads: UploadFlow;
  statusBar: StatusBar;
  announcer: Announcer;
}

export class BatchSession {
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** What was remembered last: progress events change nothing worth remembering, and are not sent again. */
  private lastSaved = '';
  /** Nothing is remembered before the remembered batch is read: the window's first, empty state would replace it. */
  private restored = false;

  constructor(
    private readonly ctx: WindowContext,
    private readonly deps: SessionDeps,
  ) {}

  /** At start: the remembered batch, or the new one the store made. */
  async restore(): Promise<void> {
    let saved: SavedBatch | null = null;
    try {
      saved = await this.ctx.platform.restoreSession();
    } catch (err) {
      this.ctx.notice(`The last batch could not be read: ${errorMessage(err)}`, true);
    }
    this.restored = true;
    if (saved) this.show(saved);
    else {
      this.deps.live.watch();
      this.saveNow();
    }
  }

  /** Opens a batch of the server (from "Recent batches"); refused while this one is uploading. */
  openBatch(batchId: string): boolean {
    if (batchId === this.ctx.store.batchId) return true;
    const { uploads } = this.deps;
    if (uploads.uploading > 0 || uploads.waitingForChecks || this.ctx.store.counts().uploading > 0) {
      this.ctx.notice('This batch is still uploading: wait for it, or Cancel, before opening another.', true);
      return false;
    }
    const unsent = this.ctx.store.uploadable().length;
    this.show({ batchId, files: [] });
    const left = unsent
      ? ` The ${unsent === 1 ? 'photo' : `${unsent} photos`} not uploaded from the batch before ${unsent === 1 ? 'is' : 'are'} no longer listed.`
      : '';
    this.ctx.notice(`Opened batch ${batchId.slice(0, 8)}: new photos are added to it.${left}`);
    return true;
  }

  /** A new batch (Clear): nothing to read from the server. */
  started(): void {
    this.deps.announcer.forget();
    this.saveNow();
  }

  /** The store changed: remember it shortly. */
  changed(): void {
    if (!this.restored || this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  /** Remembers the batch now (also when the page goes away, before a pending save). */
  saveNow(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (!this.restored) return;
    const snapshot = this.ctx.store.snapshot();
    const text = JSON.stringify(snapshot);
    if (text === this.lastSaved) return;
    this.lastSaved = text;
    this.ctx.platform.saveSession(snapshot).catch(() => {
      // Not worth an error: at worst a restart shows an older state of the batch.
    });
  }

  private show(saved: SavedBatch): void {
    const { store } = this.ctx;
    const { intake, live, run, statusBar, announcer } = this.deps;
    announcer.forget();
    store.open(saved.batchId, saved.files);
    run.reset();
    statusBar.reset();
    // The files this computer has again are checked like any added file (their previews).
    intake.checkAll(store.list().filter((c) => c.local));
    live.watch();
    void live.restore();
    this.saveNow();
  }
}
