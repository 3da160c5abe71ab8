/**
 * The settings as the window uses them: read at start and after anything
 * that changes them (a download or resize may have asked for the output
 * folder), the Settings dialog, and the output folder's two buttons.
 */
import { errorMessage, type Settings } from '../platform/platform.js';
import { SettingsDialog } from './settings-dialog.js';
import type { StatusBar } from './status-bar.js';
import type { WindowContext } from './window-context.js';

export class SettingsControl {
  private current: Settings | null = null;
  private readonly dialog: SettingsDialog;
  private readonly listeners: ((settings: Settings) => void)[] = [];

  constructor(
    private readonly ctx: WindowContext,
    private readonly statusBar: StatusBar,
    onSavedInDialog: () => void,
  ) {
    this.dialog = new SettingsDialog(ctx.platform, (settings) => {
      this.apply(settings);
      onSavedInDialog();
    });
  }

  get settings(): Settings | null {
    return this.current;
  }

  /** Called with every settings value applied (the options panel and the connection follow them). */
  onApply(listener: (settings: Settings) => void): void {
    this.listeners.push(listener);
  }

  openDialog(): Promise<void> {
    return this.dialog.open();
  }

  /** Reads the settings at start; says so when they cannot be read. */
  async load(): Promise<void> {
    try {
      this.apply(await this.ctx.platform.getSettings());
    } catch (err) {
      this.ctx.notice(`Settings could not be read: ${errorMessage(err)}`, true);
    }
  }

  /** Settings the host answered with after a change made here (the options panel's save): nothing else to follow. */
  remember(settings: Settings): void {
    this.current = settings;
  }

  apply(settings: Settings): void {
    this.current = settings;
    for (const listener of this.listeners) listener(settings);
    this.statusBar.showOutputFolder(settings, this.ctx.platform.capabilities.chooseFolder);
    this.ctx.refresh();
  }

  async reload(): Promise<void> {
    try {
      this.apply(await this.ctx.platform.getSettings());
    } catch {
      // Not worth an error: only the status bar's folder would be stale.
    }
  }

  async chooseFolder(): Promise<void> {
    try {
      const folder = await this.ctx.platform.chooseFolder();
      if (folder) {
        await this.reload();
        this.ctx.notice(`Results will be saved into ${folder}`);
      }
    } catch (err) {
      this.ctx.notice(errorMessage(err), true);
    }
  }

  async openFolder(): Promise<void> {
    try {
      await this.ctx.platform.openFolder();
    } catch (err) {
      this.ctx.notice(errorMessage(err), true);
    }
  }
}
