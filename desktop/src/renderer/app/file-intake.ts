/**
 * Adding photos: the pickers, drops, and each added file's check on this
 * computer (its preview, which applies the backend's rules). An upload
 * waits for the checks of the files it sends (see upload-flow).
 */
import { errorCode, errorMessage, type AddedFiles } from '../platform/platform.js';
import { formatNames } from '../../shared/input-formats.js';
import { plural } from '../ui/format.js';
import type { Card } from './batch-store.js';
import type { WindowContext } from './window-context.js';

export class FileIntake {
  /** Each added file's local check, until it ends. */
  private readonly checks = new Map<string, Promise<void>>();

  constructor(private readonly ctx: WindowContext) {}

  async pick(folders: boolean): Promise<void> {
    try {
      const added = await this.ctx.platform.pickFiles({ folders });
      if (added) this.add(added);
    } catch (err) {
      this.ctx.notice(`Could not open the files: ${errorMessage(err)}`, true);
    }
  }

  async addFromDrop(data: DataTransfer): Promise<void> {
    try {
      this.add(await this.ctx.platform.filesFromDrop(data));
    } catch (err) {
      this.ctx.notice(`Could not read the dropped files: ${errorMessage(err)}`, true);
    }
  }

  add(added: AddedFiles): void {
    const cards = this.ctx.store.addFiles(added.files);
    const parts = [`Added ${plural(cards.length, 'photo')}`];
    if (added.files.length > cards.length) parts.push(`${added.files.length - cards.length} already in the list`);
    if (added.ignored > 0) parts.push(`${plural(added.ignored, 'other file')} ignored (only ${formatNames()} images are taken)`);
    const unreadable = added.unreadable ?? [];
    if (unreadable.length > 0) {
      const shown = unreadable.slice(0, 3).join(', ');
      parts.push(`${plural(unreadable.length, 'item')} could not be read: ${shown}${unreadable.length > 3 ? ', …' : ''}`);
    }
    this.ctx.notice(parts.join(' · '), cards.length === 0 && unreadable.length > 0);
    for (const card of cards) this.check(card);
  }

  /** Checks cards whose file came back (a restored session): their previews. */
  checkAll(cards: readonly Card[]): void {
    for (const card of cards) this.check(card);
  }

  /** The checks still running for these cards. */
  pendingFor(cards: readonly Card[]): Promise<void>[] {
    return cards.map((c) => this.checks.get(c.key)).filter((check): check is Promise<void> => check !== undefined);
  }

  private check(card: Card): void {
    const { platform, store } = this.ctx;
    const check = platform
      .preview(card.file)
      .then((preview) => store.setPreview(card.key, preview))
      .catch((err: unknown) => store.setPreview(card.key, { ok: false, path: card.key, bytes: null, error: errorMessage(err), code: errorCode(err) }))
      .finally(() => this.checks.delete(card.key));
    this.checks.set(card.key, check);
  }
}
