/**
 * The output options panel in the window: started with the remembered
 * options, saved on each valid change (awaited before an upload, so the
 * host sends what the panel shows), and checked against the connected
 * server's limits (its config, read again on each reconnection).
 */
import { errorMessage, type OutputOptions, type Settings } from '../platform/platform.js';
import { byId } from '../ui/dom.js';
import { OptionsPanel } from './options-panel.js';
import type { WindowContext } from './window-context.js';

export class OptionsControl {
  private panel: OptionsPanel | null = null;
  /** The last options save, awaited before an upload so the host sends what the panel shows. */
  private saving: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: WindowContext,
    private readonly saved: (settings: Settings) => void,
  ) {}

  start(remembered: OutputOptions | undefined): void {
    const initial = remembered ?? this.ctx.store.options;
    this.ctx.store.setOptions(initial);
    this.panel = new OptionsPanel(byId('options-panel'), initial, (options) => {
      this.sayWhenNamesApply(this.ctx.store.options.template, options.template);
      this.ctx.store.setOptions(options);
      this.saving = this.ctx.platform
        .updateSettings({ outputOptions: options })
        .then(this.saved)
        .catch((err: unknown) => this.ctx.notice(`The output options could not be saved: ${errorMessage(err)}`, true));
    });
    void this.readServerConfig();
  }

  /**
   * A template changed once photos are uploaded: said when it applies. The
   * page's results are named with the options they were uploaded with (the
   * server keeps them: its downloads and ZIP, and an upload's answer stays
   * the same for its Idempotency-Key), so it applies to the next upload;
   * the desktop names what it writes, so it applies to the next download.
   */
  private sayWhenNamesApply(before: string, after: string): void {
    if (before === after || !this.ctx.store.list().some((c) => c.id !== null)) return;
    this.ctx.notice(
      this.ctx.platform.capabilities.namedAtUpload
        ? `New file names (${after}) apply to the next upload: the photos already uploaded keep the names chosen when they were sent. Clear starts a new batch.`
        : `New file names (${after}) apply to the next download and “Resize locally”; files already saved keep their names.`,
    );
  }

  /** Settings read again (another window, the dialog): the panel shows them unless mid-edit. */
  follow(settings: Settings): void {
    if (!this.panel) return;
    this.panel.setOptions(settings.outputOptions);
    if (this.panel.options) this.ctx.store.setOptions(this.panel.options);
  }

  /** The server's limits and formats for the panel (the offline ones when it cannot be reached). */
  async readServerConfig(): Promise<void> {
    try {
      const check = await this.ctx.platform.checkBackend();
      if (check.config) this.panel?.setConfig(check.config);
    } catch {
      // The panel keeps what it had.
    }
  }

  /** True when the panel's options are valid and saved; otherwise says why `verb` cannot run. */
  async ready(verb: string): Promise<boolean> {
    if (this.panel && this.panel.options === null) {
      this.ctx.notice(`${verb}: fix the output options first (${this.panel.problemText})`, true);
      return false;
    }
    await this.saving;
    return true;
  }
}
