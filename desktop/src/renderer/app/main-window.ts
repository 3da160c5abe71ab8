/**
 * The main window, put together from one module per feature (as the main
 * process's handlers are): the toolbar (toolbar.ts), adding files
 * (file-intake.ts), the output options (options-control.ts), upload and
 * Cancel (upload-flow.ts) and the end of the sent work (batch-run.ts),
 * Retry (retry-flow.ts), the live statuses and deletions (live-sync.ts),
 * downloads (downloads.ts), "Resize locally" (local-resize.ts), the
 * settings and output folder (settings-control.ts), the connection
 * (connection-control.ts), the batch remembered and restored
 * (batch-session.ts), "Recent batches" (recent-batches.ts), the warning
 * before leaving a page that uploads (leave-warning.ts), the live region
 * (announcer.ts) and before/after (compare-view.ts). The views show the
 * state: CardsView the cards, StatusBar the overall progress and the bottom bar. It talks only to the Platform,
 * so the same code runs in Electron and in a browser.
 */
import { byId, show } from '../ui/dom.js';
import { errorMessage, type MenuCommand, type Platform } from '../platform/platform.js';
import { Announcer } from './announcer.js';
import { BatchRun } from './batch-run.js';
import { BatchSession } from './batch-session.js';
import { BatchStore } from './batch-store.js';
import { CardsView, type CardAction } from './cards-view.js';
import { CompareView } from './compare-view.js';
import { ResultThumbnails } from './result-thumbnails.js';
import { ConnectionControl } from './connection-control.js';
import { Downloads } from './downloads.js';
import { bindDropZone } from './drop-zone.js';
import { FileIntake } from './file-intake.js';
import { LiveSync } from './live-sync.js';
import { LocalResize } from './local-resize.js';
import { showNotice } from './notice.js';
import { OptionsControl } from './options-control.js';
import { nameTheFormats } from './page-texts.js';
import { RecentBatches } from './recent-batches.js';
import { warnBeforeLeaving } from './leave-warning.js';
import { RetryFlow } from './retry-flow.js';
import { SettingsControl } from './settings-control.js';
import { bindShortcuts } from './shortcuts.js';
import { StatusBar } from './status-bar.js';
import { Toolbar } from './toolbar.js';
import { UploadFlow } from './upload-flow.js';
import type { WindowContext } from './window-context.js';

export class MainWindow {
  readonly store = new BatchStore();
  private readonly ctx: WindowContext;
  private readonly view: CardsView;
  private readonly statusBar = new StatusBar(this.store);
  private readonly toolbar: Toolbar;
  private readonly settings: SettingsControl;
  private readonly connection: ConnectionControl;
  private readonly options: OptionsControl;
  private readonly intake: FileIntake;
  private readonly run: BatchRun;
  private readonly uploads: UploadFlow;
  private readonly retries: RetryFlow;
  private readonly live: LiveSync;
  private readonly downloads: Downloads;
  private readonly localResize: LocalResize;
  private readonly announcer = new Announcer(this.store);
  private readonly session: BatchSession;
  private readonly recent: RecentBatches;
  private readonly compare: CompareView;
  private readonly thumbnails: ResultThumbnails;

  constructor(private readonly platform: Platform) {
    const ctx: WindowContext = { platform, store: this.store, notice: showNotice, refresh: () => this.refresh() };
    this.ctx = ctx;
    this.view = new CardsView(byId<HTMLUListElement>('cards'), this.store, (action, key) => void this.onCardAction(action, key));
    this.settings = new SettingsControl(ctx, this.statusBar, () => {
      // A new token should be tried now, not at the next reconnection attempt (up to 15 s away).
      if (this.connection.state.state !== 'open') this.live.watch();
    });
    this.connection = new ConnectionControl(ctx, this.statusBar, () => void this.settings.openDialog());
    this.options = new OptionsControl(ctx, (saved) => this.settings.remember(saved));
    this.settings.onApply((settings) => {
      this.options.follow(settings);
      this.connection.knowUrl(settings.backendUrl);
    });
    this.intake = new FileIntake(ctx);
    this.run = new BatchRun(ctx, () => this.live.resync());
    this.uploads = new UploadFlow(ctx, { intake: this.intake, options: this.options, run: this.run, connection: this.connection });
    this.retries = new RetryFlow(ctx, { uploads: this.uploads, run: this.run });
    this.live = new LiveSync(ctx, { connection: this.connection, options: this.options });
    this.downloads = new Downloads(ctx, this.settings);
    this.localResize = new LocalResize(ctx, { options: this.options, settings: this.settings });
    const { intake, live, run, uploads, statusBar, announcer } = this;
    this.session = new BatchSession(ctx, { intake, live, run, uploads, statusBar, announcer });
    this.recent = new RecentBatches(ctx, { session: this.session, downloads: this.downloads });
    this.compare = new CompareView(ctx);
    this.thumbnails = new ResultThumbnails(ctx);
    this.toolbar = new Toolbar(
      (command) => void this.command(command),
      () => void platform.openMetricsWindow().catch((err: unknown) => showNotice(errorMessage(err), true)),
    );
  }

  async start(): Promise<void> {
    document.body.dataset.platform = this.platform.kind;
    // Desktop-only controls disappear in a browser rather than failing when clicked.
    for (const element of document.querySelectorAll<HTMLElement>('[data-capability]')) {
      const capability = element.dataset.capability as keyof Platform['capabilities'];
      show(element, this.platform.capabilities[capability]);
    }
    nameTheFormats();
    this.store.subscribe((changed, structural) => {
      this.view.update(changed, structural);
      this.announcer.changed(changed);
      this.thumbnails.changed(changed);
      this.session.changed();
      this.refresh();
    });
    byId('recent-batches').addEventListener('click', () => void this.recent.open());
    // What changed in the last moment is remembered before the window goes (a reload, a closed tab, quitting the app).
    window.addEventListener('pagehide', () => this.session.saveNow());
    if (this.platform.kind === 'browser') warnBeforeLeaving(() => this.uploading());
    bindDropZone(byId('drop-zone'), (data) => void this.intake.addFromDrop(data));
    bindShortcuts(document, (command) => void this.command(command));
    this.platform.onMenuCommand((command) => void this.command(command));

    await this.settings.load();
    this.options.start(this.settings.settings?.outputOptions);
    await this.session.restore();
    this.refresh();
    document.body.dataset.ready = 'true';
  }

  /** A command from the toolbar, the menu or a shortcut. */
  async command(command: MenuCommand): Promise<void> {
    switch (command) {
      case 'open-files':
        return this.intake.pick(false);
      case 'open-folder':
        return this.intake.pick(true);
      case 'upload':
        return this.uploads.uploadAll();
      case 'cancel':
        return this.uploads.cancel();
      case 'retry-failed':
        return this.retries.retryFailed();
      case 'download-all':
        return this.downloads.downloadAll();
      case 'choose-folder':
        return this.settings.chooseFolder();
      case 'open-output-folder':
        return this.settings.openFolder();
      case 'resize-locally':
        return this.localResize.resizeAll();
      case 'clear':
        return this.clear();
      case 'settings':
        return this.settings.openDialog();
    }
  }

  private async clear(): Promise<void> {
    await this.uploads.stopQuietly();
    this.store.clear();
    this.statusBar.reset();
    this.run.reset();
    this.live.watch();
    this.session.started();
    showNotice('Cleared. New files start a new batch.');
  }

  private async onCardAction(action: CardAction, key: string): Promise<void> {
    const card = this.store.get(key);
    if (!card) return;
    if (action === 'download') await this.downloads.downloadOne(card);
    else if (action === 'retry') await this.retries.retryOne(card);
    else if (action === 'remove') this.store.remove(key);
    else await this.compare.open(card); // 'compare'
  }

  /** Files on their way to the backend, or about to be (an Upload waiting for the checks). */
  private uploading(): boolean {
    return this.uploads.uploading > 0 || this.uploads.waitingForChecks || this.store.counts().uploading > 0;
  }

  /** The buttons and the bar around the cards follow the state; the end of the sent work is reported. */
  private refresh(): void {
    const { store } = this;
    const counts = store.counts();
    const offline = this.connection.offline;
    this.statusBar.showProgress();
    this.toolbar.update({
      upload: !offline && !this.uploads.waitingForChecks && store.uploadable().length > 0,
      cancel: this.uploads.waitingForChecks || this.uploads.uploading > 0 || counts.uploading > 0,
      'retry-failed': !offline && store.list().some((c) => store.retryable(c)),
      'download-all': !offline && !this.downloads.busy && counts.completed > 0,
      'resize-locally': !this.localResize.busy && store.list().some((c) => c.local),
      'open-folder': Boolean(this.settings.settings?.outputFolder),
      clear: counts.total > 0,
    });
    this.run.check(this.uploads.uploading);
  }
}
