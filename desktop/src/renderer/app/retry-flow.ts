/**
 * Retry: a failed image goes back through the cluster's queue (POST
 * …/retry); a file whose upload never reached the backend is uploaded
 * again. Files refused for their content are left out: they can only fail
 * again.
 */
import { errorMessage } from '../platform/platform.js';
import { plural } from '../ui/format.js';
import type { Card } from './batch-store.js';
import type { BatchRun } from './batch-run.js';
import type { UploadFlow } from './upload-flow.js';
import type { WindowContext } from './window-context.js';

export class RetryFlow {
  constructor(
    private readonly ctx: WindowContext,
    private readonly deps: { uploads: UploadFlow; run: BatchRun },
  ) {}

  async retryFailed(): Promise<void> {
    const { store } = this.ctx;
    const failed = store.list().filter((c) => store.retryable(c));
    if (failed.length === 0) return;
    const unsent = failed.filter((c) => c.id === null);
    for (const card of unsent) store.requeue(card.key);
    const results = await Promise.all(failed.filter((c) => c.id !== null).map((c) => this.retryOne(c, false)));
    const refused = results.filter((ok) => !ok).length;
    if (unsent.length > 0) await this.deps.uploads.uploadAll();
    if (refused > 0) this.ctx.notice(`${plural(refused, 'image')} could not be retried (see the cards)`, true);
  }

  async retryOne(card: Card, report = true): Promise<boolean> {
    const { store, platform } = this.ctx;
    if (!store.retryable(card)) return false;
    if (card.id === null) {
      store.requeue(card.key);
      await this.deps.uploads.uploadAll();
      return true;
    }
    try {
      await platform.retry(card.id);
      this.deps.run.started();
      store.markRetried(card.key);
      return true;
    } catch (err) {
      store.setNote(card.key, `Retry refused: ${errorMessage(err)}`, true);
      if (report) this.ctx.notice(errorMessage(err), true);
      return false;
    }
  }
}
