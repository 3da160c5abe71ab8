/**
 * "Recent batches": the server's batches, the latest first, a page at a
 * time (GET /api/v1/batches): when, how many photos, done and failed, the
 * saving; each can be opened here again, downloaded whole, or deleted
 * (asked twice: it deletes the server's copies for good).
 */
import { errorMessage, type BatchListItem, type BatchListResponse } from '../platform/platform.js';
import { byId, h, setText } from '../ui/dom.js';
import { plural } from '../ui/format.js';
import type { BatchSession } from './batch-session.js';
import { savingText } from './cards-view.js';
import type { Downloads } from './downloads.js';
import type { WindowContext } from './window-context.js';

const PAGE = 10;

export class RecentBatches {
  private readonly dialog = byId<HTMLDialogElement>('batches-dialog');
  private readonly list = byId<HTMLUListElement>('batches-list');
  private readonly status = byId('batches-status');
  private readonly newer = byId<HTMLButtonElement>('batches-newer');
  private readonly older = byId<HTMLButtonElement>('batches-older');
  private offset = 0;

  constructor(
    private readonly ctx: WindowContext,
    private readonly deps: { session: BatchSession; downloads: Downloads },
  ) {
    byId('batches-close').addEventListener('click', () => this.dialog.close());
    this.newer.addEventListener('click', () => void this.load(Math.max(0, this.offset - PAGE)));
    this.older.addEventListener('click', () => void this.load(this.offset + PAGE));
  }

  async open(): Promise<void> {
    if (!this.dialog.open) this.dialog.showModal();
    await this.load(0);
  }

  private async load(offset: number): Promise<void> {
    setText(this.status, 'Reading the batches…');
    this.list.replaceChildren();
    let page: BatchListResponse;
    try {
      page = await this.ctx.platform.listBatches({ limit: PAGE, offset });
    } catch (err) {
      setText(this.status, `The batches could not be read: ${errorMessage(err)}`);
      this.dialog.dataset.loaded = 'error';
      return;
    }
    this.offset = offset;
    const last = Math.min(page.total, offset + page.batches.length);
    setText(this.status, page.total === 0 ? 'No batch on the server yet.' : `Batches ${offset + 1}–${last} of ${page.total}, the latest first.`);
    this.list.replaceChildren(...page.batches.map((batch) => this.row(batch)));
    this.newer.disabled = offset === 0;
    this.older.disabled = last >= page.total;
    this.dialog.dataset.loaded = 'true';
  }

  private row(batch: BatchListItem): HTMLLIElement {
    const current = batch.batchId === this.ctx.store.batchId;
    const when = new Date(batch.createdAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    const counts = [
      plural(batch.total, 'photo'),
      `${batch.completed} done`,
      batch.failed ? `${batch.failed} failed` : '',
      batch.pending + batch.processing ? `${batch.pending + batch.processing} in progress` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    const saving = batch.originalBytes > 0 ? `Saving: ${savingText(batch.originalBytes, batch.resultBytes)}` : '';
    const label = `batch of ${when}`;
    const open = h('button', { type: 'button', class: 'small', 'aria-label': `Open the ${label}`, disabled: current }, current ? 'Shown' : 'Open');
    const download = h(
      'button',
      { type: 'button', class: 'small', 'aria-label': `Download all of the ${label}`, disabled: batch.completed === 0 },
      'Download all',
    );
    const remove = h('button', { type: 'button', class: 'small', 'aria-label': `Delete the ${label}` }, 'Delete');
    open.addEventListener('click', () => {
      if (this.deps.session.openBatch(batch.batchId)) this.dialog.close();
    });
    download.addEventListener('click', () => void this.deps.downloads.downloadBatch(batch.batchId));
    remove.addEventListener('click', () => void this.remove(batch, remove));
    return h(
      'li',
      { 'data-batch-id': batch.batchId, 'aria-current': current ? 'true' : false },
      h(
        'div',
        { class: 'batch-facts' },
        h('strong', {}, when, current ? ' (this window)' : ''),
        h('span', { class: 'batch-counts' }, counts),
        saving ? h('span', { class: 'saving' }, saving) : null,
      ),
      h('div', { class: 'batch-actions' }, open, download, remove),
    );
  }

  /** Deletes on the second press: the first one asks. */
  private async remove(batch: BatchListItem, button: HTMLButtonElement): Promise<void> {
    if (button.dataset.confirm !== 'true') {
      button.dataset.confirm = 'true';
      setText(button, 'Delete for good?');
      return;
    }
    button.disabled = true;
    try {
      await this.ctx.platform.deleteBatch(batch.batchId);
      this.ctx.notice(`Deleted the batch of ${plural(batch.total, 'photo')} from the server.`);
    } catch (err) {
      this.ctx.notice(`The batch could not be deleted: ${errorMessage(err)}`, true);
    }
    await this.load(this.offset);
  }
}
