/**
 * The settings form in a <dialog>. Values are validated by the host (the
 * main process's zod schema, or the browser adapter), which answers with a
 * message naming the bad field; it is shown as is.
 */
import { byId, setText, show } from '../ui/dom.js';
import { errorMessage, type Platform, type Settings, type SettingsPatch } from '../platform/platform.js';

export class SettingsDialog {
  private readonly dialog = byId<HTMLDialogElement>('settings-dialog');
  private readonly form = byId<HTMLFormElement>('settings-form');
  private readonly error = byId('settings-error');

  constructor(
    private readonly platform: Platform,
    private readonly onSaved: (settings: Settings) => void,
  ) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.save();
    });
    byId('settings-cancel').addEventListener('click', () => this.dialog.close());
    byId('settings-choose-folder').addEventListener('click', () => void this.chooseFolder());
    // In a browser the backend is the page's own origin: nothing to configure there.
    show(byId('settings-backend-row'), platform.kind === 'electron');
    show(byId('settings-folder-row'), platform.capabilities.chooseFolder);
    // Only the desktop writes files of its own; a browser's downloads get the browser's dates.
    show(byId('settings-keepdates-row'), platform.capabilities.chooseFolder);
    show(byId('settings-watch-row'), platform.capabilities.chooseFolder);
    show(byId('settings-watchmode-row'), platform.capabilities.chooseFolder);
    byId('settings-watch-choose').addEventListener('click', () => void this.watch('choose'));
    byId('settings-watch-stop').addEventListener('click', () => void this.watch('stop'));
  }

  async open(): Promise<void> {
    try {
      this.fill(await this.platform.getSettings());
    } catch (err) {
      setText(this.error, errorMessage(err));
    }
    show(this.error, false);
    if (!this.dialog.open) this.dialog.showModal();
  }

  private input(name: string): HTMLInputElement {
    return this.form.elements.namedItem(name) as HTMLInputElement;
  }

  private fill(settings: Settings): void {
    this.input('backendUrl').value = settings.backendUrl;
    this.input('apiToken').value = settings.apiToken;
    this.input('namingTemplate').value = settings.namingTemplate;
    this.input('uploadConcurrency').value = String(settings.uploadConcurrency);
    this.input('keepDates').checked = settings.keepDates;
    (this.form.elements.namedItem('watchMode') as HTMLSelectElement).value = settings.watchMode;
    setText(byId('settings-watch-folder'), settings.watchFolder || 'none');
    setText(byId('settings-folder'), settings.outputFolder || 'not chosen yet');
  }

  private async save(): Promise<void> {
    const patch: SettingsPatch = {
      apiToken: this.input('apiToken').value.trim(),
      namingTemplate: this.input('namingTemplate').value.trim(),
      uploadConcurrency: Number(this.input('uploadConcurrency').value),
    };
    if (this.platform.kind === 'electron') patch.backendUrl = this.input('backendUrl').value.trim();
    if (this.platform.capabilities.chooseFolder) {
      patch.keepDates = this.input('keepDates').checked;
      patch.watchMode = (this.form.elements.namedItem('watchMode') as HTMLSelectElement).value === 'local' ? 'local' : 'upload';
    }
    try {
      const saved = await this.platform.updateSettings(patch);
      this.onSaved(saved);
      this.dialog.close();
    } catch (err) {
      setText(this.error, errorMessage(err));
      show(this.error, true);
    }
  }

  /** The watched folder is chosen in a folder dialog of the host, never typed (see main/handlers/watch.ts). */
  private async watch(action: 'choose' | 'stop'): Promise<void> {
    try {
      setText(byId('settings-watch-folder'), (await this.platform.watchFolder(action)) || 'none');
    } catch (err) {
      setText(this.error, errorMessage(err));
      show(this.error, true);
    }
  }

  private async chooseFolder(): Promise<void> {
    try {
      const folder = await this.platform.chooseFolder();
      if (folder) {
        setText(byId('settings-folder'), folder);
        this.onSaved(await this.platform.getSettings());
      }
    } catch (err) {
      setText(this.error, errorMessage(err));
      show(this.error, true);
    }
  }
}
