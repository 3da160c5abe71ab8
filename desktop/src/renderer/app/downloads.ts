/**
 * Saving the cluster's results: one card's, or every completed one's ("Download
 * all": into the output folder on the desktop, one ZIP of the batch in a
 * browser).
 */
import { batchIndex } from '../../shared/naming-template.js';
import { errorMessage } from '../platform/platform.js';
import { plural } from '../ui/format.js';
import type { Card } from './batch-store.js';
import type { SettingsControl } from './settings-control.js';
import type { WindowContext } from './window-context.js';
import { noteOutcome, reportWrites } from './write-report.js';

type CompletedCard = Card & { id: number };

export class Downloads {
  private running = false;

  constructor(
    private readonly ctx: WindowContext,
    private readonly settings: SettingsControl,
  ) {}

  get busy(): boolean {
    return this.running;
  }

  async downloadAll(): Promise<void> {
    const cards = this.ctx.store.list().filter((c): c is CompletedCard => c.status === 'completed' && c.id !== null);
    if (cards.length === 0) {
      this.ctx.notice('Nothing to download yet: no image has completed.');
      return;
    }
    if (this.ctx.platform.capabilities.batchArchive) await this.archive(cards.map((c) => c.id));
    else await this.download(cards);
  }

  /** One card's result (its Download button). */
  async downloadOne(card: Card): Promise<void> {
    if (card.id !== null) await this.download([{ ...card, id: card.id }]);
  }

  /** A batch of the server, whole ("Recent batches"): one ZIP in a browser, into the output folder on the desktop. */
  async downloadBatch(batchId: string): Promise<void> {
    const { platform, store } = this.ctx;
    if (platform.capabilities.batchArchive) {
      await this.whileBusy(async () => {
        const { name } = await platform.downloadArchive(batchId);
        this.ctx.notice(`Downloading batch ${batchId.slice(0, 8)} as one ZIP: ${name} (see the browser's downloads)`);
      });
      return;
    }
    if (batchId === store.batchId) return this.downloadAll();
    await this.whileBusy(async () => {
      const images = await platform.listBatch(batchId);
      const ids = images.map((image) => image.id);
      const completed = images.filter((image) => image.status === 'completed');
      if (completed.length === 0) {
        this.ctx.notice('Nothing to download in that batch: no image has completed.');
        return;
      }
      // {index}: the image's place in its batch as the server numbers it (upload order, every image it still has).
      const items = completed.map((image) => ({
        key: `server:${batchId}:${image.id}`,
        id: image.id,
        name: image.sourcePath ?? image.filename,
        index: batchIndex(image.id, ids),
      }));
      const summary = await platform.download(items, () => undefined);
      if (summary.folder === null) this.ctx.notice('Download cancelled: no output folder chosen.');
      else {
        reportWrites(this.ctx, 'Downloaded', summary);
        await this.settings.reload();
      }
    });
  }

  /** In a browser: one ZIP of the batch, streamed by the backend, instead of a download per file. */
  private async archive(ids: number[]): Promise<void> {
    await this.whileBusy(async () => {
      const { name } = await this.ctx.platform.downloadArchive(this.ctx.store.batchId, ids);
      this.ctx.notice(`Downloading ${plural(ids.length, 'result')} as one ZIP: ${name} (see the browser's downloads)`);
    });
  }

  private async download(cards: CompletedCard[]): Promise<void> {
    const { platform, store } = this.ctx;
    await this.whileBusy(async () => {
      const all = store.list();
      const ids = all.flatMap((c) => (c.id === null ? [] : [c.id]));
      // {index}: as the server numbers the batch (batchIndex: upload order), so a photo has one name in a single download and in the ZIP.
      const indexOf = (c: CompletedCard) => batchIndex(c.id, ids);
      const summary = await platform.download(
        cards.map((c) => ({ key: c.key, id: c.id, name: c.file.relativePath ?? c.file.name, index: indexOf(c) })),
        (outcome) => noteOutcome(this.ctx, outcome, 'Saved'),
      );
      if (summary.folder === null && platform.capabilities.chooseFolder) {
        this.ctx.notice('Download cancelled: no output folder chosen.');
      } else {
        reportWrites(this.ctx, 'Downloaded', summary);
        await this.settings.reload();
      }
    });
  }

  private async whileBusy(work: () => Promise<void>): Promise<void> {
    this.running = true;
    this.ctx.refresh();
    try {
      await work();
    } catch (err) {
      this.ctx.notice(`Download failed: ${errorMessage(err)}`, true);
    } finally {
      this.running = false;
      this.ctx.refresh();
    }
  }
}
