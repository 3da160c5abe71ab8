/** "Resize locally" (desktop only): every card's photo resized on this computer with the same rules, into the output folder. */
import { errorMessage } from '../platform/platform.js';
import type { OptionsControl } from './options-control.js';
import type { SettingsControl } from './settings-control.js';
import type { WindowContext } from './window-context.js';
import { noteOutcome, reportWrites } from './write-report.js';

export class LocalResize {
  private running = false;

  constructor(
    private readonly ctx: WindowContext,
    private readonly deps: { options: OptionsControl; settings: SettingsControl },
  ) {}

  get busy(): boolean {
    return this.running;
  }

  async resizeAll(): Promise<void> {
    if (!(await this.deps.options.ready('Resize locally'))) return;
    const { store, platform } = this.ctx;
    // Only what this computer has: a card restored from the server without its file has nothing to resize.
    const cards = store.list().filter((c) => c.local);
    if (cards.length === 0) {
      this.ctx.notice('Nothing to resize: add photos first.');
      return;
    }
    this.running = true;
    this.ctx.refresh();
    try {
      const summary = await platform.resizeLocally(
        cards.map((c) => c.file),
        (outcome) => noteOutcome(this.ctx, outcome, 'Resized locally to'),
        store.batchId,
      );
      if (summary.folder === null) this.ctx.notice('Resize cancelled: no output folder chosen.');
      else {
        reportWrites(this.ctx, 'Resized locally', summary);
        await this.deps.settings.reload();
      }
    } catch (err) {
      this.ctx.notice(`Local resize failed: ${errorMessage(err)}`, true);
    } finally {
      this.running = false;
      this.ctx.refresh();
    }
  }
}
