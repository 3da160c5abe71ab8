/**
 * The end of the work this window sent to the cluster: "Batch finished"
 * (with a desktop notification) once every sent file has completed or
 * failed, or "Upload cancelled: …" with the counts when Cancel left files
 * unsent. Cancel can cut off answers the backend had already given (the
 * file was stored): before it counts, the batch is read again, which links
 * such files to their cards, and their work is waited for too.
 */
import type { WindowContext } from './window-context.js';

export class BatchRun {
  /** Set when this window sent work to the cluster; cleared by the "batch finished" notice. */
  private awaiting = false;
  /** Set by Cancel while work was sent: the end of that work is reported as cancelled, not finished. */
  private cancelled = false;
  /** After Cancel: the re-read that finds what the backend stored unanswered ('running', then 'done'). */
  private reread: 'no' | 'running' | 'done' = 'no';

  constructor(
    private readonly ctx: WindowContext,
    private readonly readBatchAgain: () => Promise<void>,
  ) {}

  /** Work was sent (an upload, a retry): its end will be reported. */
  started(): void {
    this.awaiting = true;
  }

  /** A new upload: not cancelled (yet). */
  startedUpload(): void {
    this.awaiting = true;
    this.cancelled = false;
  }

  /**
   * Cancel was pressed; true when work had been sent (its end is then
   * reported as cancelled). Set before asking the host: the cancelled
   * uploads' outcomes can arrive before its answer does.
   */
  cancelRequested(): boolean {
    this.cancelled = this.awaiting;
    this.reread = 'no';
    return this.awaiting;
  }

  /** The host had nothing to cancel after all. */
  nothingCancelled(): void {
    this.cancelled = false;
  }

  /** Whether the cancelled work's end has been reported already (the counts then said it). */
  get cancelReported(): boolean {
    return !this.cancelled;
  }

  reset(): void {
    this.awaiting = false;
    this.cancelled = false;
    this.reread = 'no';
  }

  /** Reports the end of the sent work once nothing of it is running (`uploading`: upload calls still running). */
  check(uploading: number): void {
    const { store, platform } = this.ctx;
    if (!this.awaiting || uploading > 0 || store.inFlight() > 0) return;
    if (this.cancelled && this.reread !== 'done') {
      if (this.reread === 'no') this.readAgain();
      return;
    }
    const counts = store.counts();
    if (this.cancelled && counts.queued > 0) {
      // Not "finished": some files were never sent.
      this.reset();
      this.ctx.notice(`Upload cancelled: ${counts.completed} completed, ${counts.failed} failed, ${counts.queued} not uploaded`);
      document.body.dataset.batchCancelled = 'true';
      return;
    }
    if (counts.completed + counts.failed === 0) return;
    this.reset();
    const body = `${counts.completed} completed${counts.failed ? `, ${counts.failed} failed` : ''}`;
    this.ctx.notice(`Batch finished: ${body}`);
    document.body.dataset.batchFinished = 'true';
    if (platform.capabilities.notifications) void platform.notify('imgfleet: batch finished', body).catch(() => undefined);
  }

  private readAgain(): void {
    this.reread = 'running';
    void this.readBatchAgain().finally(() => {
      if (this.reread !== 'running') return; // reset meanwhile
      this.reread = 'done';
      this.ctx.refresh();
    });
  }
}
