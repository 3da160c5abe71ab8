/**
 * Upload and Cancel. Upload waits for the checks on this computer of the
 * files it sends (a file the check refuses is never sent), then hands the
 * files to the host with their Idempotency-Keys; Cancel ends that wait, or
 * stops the host's uploads.
 */
import { errorMessage } from '../platform/platform.js';
import { plural } from '../ui/format.js';
import type { BatchRun } from './batch-run.js';
import type { ConnectionControl } from './connection-control.js';
import type { FileIntake } from './file-intake.js';
import type { OptionsControl } from './options-control.js';
import type { WindowContext } from './window-context.js';

export class UploadFlow {
  /** Upload calls to the host still running. */
  private running = 0;
  /** Set while an Upload waits for local checks; Cancel then ends that wait, and nothing is sent. */
  private checkWait: { cancelled: boolean } | null = null;

  constructor(
    private readonly ctx: WindowContext,
    private readonly deps: { intake: FileIntake; options: OptionsControl; run: BatchRun; connection: ConnectionControl },
  ) {}

  get uploading(): number {
    return this.running;
  }

  get waitingForChecks(): boolean {
    return this.checkWait !== null;
  }

  async uploadAll(): Promise<void> {
    if (this.checkWait) return; // an earlier Upload is still waiting for the checks
    if (!(await this.deps.options.ready('Upload'))) return;
    if (!(await this.awaitChecks())) return;
    const { store, platform } = this.ctx;
    const cards = store.uploadable();
    if (cards.length === 0) {
      this.ctx.notice('Nothing to upload: add photos first (files refused on this computer are not sent).');
      return;
    }
    const batchId = store.batchId;
    store.markUploading(cards.map((c) => c.key));
    this.running++;
    this.deps.run.startedUpload();
    this.ctx.refresh();
    try {
      const items = cards.map((c) => ({ ...c.file, ...(c.uploadKey ? { idempotencyKey: c.uploadKey } : {}) }));
      const summary = await platform.upload(batchId, items, {
        progress: (p) => store.uploadProgress(p),
        result: (o) => {
          const { connection } = this.deps;
          if (!o.ok && o.code === 'OFFLINE') connection.set({ state: 'offline', url: connection.state.url, error: o.error });
          store.uploadResult(o);
        },
      });
      const parts = [`Uploaded ${plural(summary.accepted, 'file')}`];
      if (summary.rejected) parts.push(`${summary.rejected} refused by the backend`);
      if (summary.failed) parts.push(`${summary.failed} could not be sent`);
      if (summary.cancelled) parts.push(`${summary.cancelled} cancelled`);
      this.ctx.notice(parts.join(' · '), summary.failed > 0);
    } catch (err) {
      // The whole call failed (e.g. invalid arguments): put the cards back.
      for (const card of cards) if (store.get(card.key)?.status === 'uploading') store.requeue(card.key);
      this.ctx.notice(`Upload failed: ${errorMessage(err)}`, true);
    } finally {
      this.running--;
      this.ctx.refresh();
    }
  }

  async cancel(): Promise<void> {
    if (this.checkWait) {
      this.checkWait.cancelled = true;
      this.ctx.notice('Upload cancelled: nothing was sent');
      return;
    }
    const { run } = this.deps;
    try {
      const sentWork = run.cancelRequested();
      const cancelled = await this.ctx.platform.cancelUploads();
      if (cancelled === 0) {
        run.nothingCancelled();
        this.ctx.notice('No upload to cancel');
        return;
      }
      // Already reported, with the counts, if the cancelled work ended before this answer came.
      if (sentWork && run.cancelReported) return;
      this.ctx.notice(`Cancelled ${plural(cancelled, 'upload')}`);
    } catch (err) {
      this.ctx.notice(errorMessage(err), true);
    }
  }

  /** Stops the host's uploads without a word (Clear). */
  async stopQuietly(): Promise<void> {
    if (this.running > 0) await this.ctx.platform.cancelUploads().catch(() => 0);
  }

  /**
   * The check on this computer applies the backend's rules, and a file it
   * refuses is never sent: an Upload pressed while some of its files are
   * still being checked waits for those checks first. False when Cancel
   * ended the wait.
   */
  private async awaitChecks(): Promise<boolean> {
    const pending = this.deps.intake.pendingFor(this.ctx.store.uploadable());
    if (pending.length === 0) return true;
    const wait = { cancelled: false };
    this.checkWait = wait;
    this.ctx.notice(`Checking ${plural(pending.length, 'photo')} on this computer before sending…`);
    this.ctx.refresh();
    try {
      await Promise.all(pending);
    } finally {
      this.checkWait = null;
      this.ctx.refresh();
    }
    return !wait.cancelled;
  }
}
