/**
 * The main window's controller: adding files (pick, drop), previews, upload,
 * live statuses, retry, downloads, local resize, notifications and the
 * settings dialog. The views show the state: CardsView the cards, StatusBar
 * the overall progress and the bottom bar, ConnectionBanner the offline
 * state. It talks only to the Platform, so the same code runs in Electron
 * and in a browser.
 */
import { absentFromListing } from '../../shared/api-policy/index.js';
import { batchIndex } from '../../shared/naming-template.js';
import { byId, setText, show } from '../ui/dom.js';
import { plural } from '../ui/format.js';
import {
  errorCode,
  errorMessage,
  type AddedFiles,
  type LiveConnection,
  type MenuCommand,
  type Platform,
  type Settings,
  type WriteOutcome,
  type WriteSummary,
} from '../platform/platform.js';
import { BatchStore, type Card } from './batch-store.js';
import { CardsView, type CardAction } from './cards-view.js';
import { ConnectionBanner } from './connection-banner.js';
import { bindDropZone } from './drop-zone.js';
import { StatusBar } from './status-bar.js';
import { bindShortcuts } from './shortcuts.js';
import { SettingsDialog } from './settings-dialog.js';
import { OptionsPanel } from './options-panel.js';

type Button = HTMLButtonElement;

export class MainWindow {
  readonly store = new BatchStore();
  private readonly view: CardsView;
  private readonly statusBar = new StatusBar(this.store);
  private readonly banner: ConnectionBanner;
  private settings: Settings | null = null;
  private connection: LiveConnection = { state: 'connecting', url: '' };
  /** The settings dialog opens by itself once when the backend asks for a token; later, the banner's button opens it. */
  private askedForToken = false;
  private stopEvents: (() => void) | null = null;
  private uploadsRunning = 0;
  /** Each added file's local check (its preview), until it ends: an upload waits for those of the files it sends. */
  private readonly checks = new Map<string, Promise<void>>();
  /** Set while an Upload waits for local checks; Cancel then ends that wait, and nothing is sent. */
  private checkWait: { cancelled: boolean } | null = null;
  private busy = { download: false, resize: false };
  /** Set when this window sent work to the cluster; cleared by the "batch finished" notification. */
  private awaitingFinish = false;
  /** Set by Cancel while work was sent: the end of that work is reported as cancelled, not finished. */
  private cancelledRun = false;
  private readonly buttons: Record<string, Button>;
  private readonly settingsDialog: SettingsDialog;
  private optionsPanel: OptionsPanel | null = null;
  /** The last options save, awaited before an upload so the main process sends what the panel shows. */
  private savingOptions: Promise<unknown> = Promise.resolve();
  private resultBytesRead: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly platform: Platform) {
    this.view = new CardsView(byId<HTMLUListElement>('cards'), this.store, (action, key) => void this.onCardAction(action, key));
    this.buttons = Object.fromEntries(
      [
        'add-files',
        'add-folder',
        'upload',
        'cancel',
        'retry-failed',
        'download-all',
        'choose-folder',
        'open-folder',
        'resize-locally',
        'clear',
        'open-metrics',
        'open-settings',
      ].map((id) => [id, byId<Button>(id)]),
    );
    this.settingsDialog = new SettingsDialog(platform, (settings) => {
      this.applySettings(settings);
      // A new token should be tried now, not at the next reconnection attempt (up to 15 s away).
      if (this.connection.state !== 'open') this.watchBatch();
    });
    this.banner = new ConnectionBanner(platform, () => void this.settingsDialog.open());
  }

  async start(): Promise<void> {
    document.body.dataset.platform = this.platform.kind;
    // Desktop-only controls disappear in a browser rather than failing when clicked.
    for (const element of document.querySelectorAll<HTMLElement>('[data-capability]')) {
      const capability = element.dataset.capability as keyof Platform['capabilities'];
      show(element, this.platform.capabilities[capability]);
    }
    this.store.subscribe((changed, structural) => {
      this.view.update(changed, structural);
      this.refresh();
    });
    this.bindToolbar();
    bindDropZone(byId('drop-zone'), (data) => void this.addFromDrop(data));
    bindShortcuts(document, (command) => void this.command(command));
    this.platform.onMenuCommand((command) => void this.command(command));

    try {
      this.applySettings(await this.platform.getSettings());
    } catch (err) {
      this.notice(`Settings could not be read: ${errorMessage(err)}`, true);
    }
    this.startOptionsPanel();
    this.watchBatch();
    this.refresh();
    document.body.dataset.ready = 'true';
  }

  // ---- commands (toolbar, menu, shortcuts) ----

  async command(command: MenuCommand): Promise<void> {
    switch (command) {
      case 'open-files':
        return this.pick(false);
      case 'open-folder':
        return this.pick(true);
      case 'upload':
        return this.uploadAll();
      case 'cancel':
        return this.cancel();
      case 'retry-failed':
        return this.retryFailed();
      case 'download-all':
        return this.downloadAll();
      case 'choose-folder':
        return this.chooseFolder();
      case 'open-output-folder':
        return this.openFolder();
      case 'resize-locally':
        return this.resizeLocally();
      case 'clear':
        return this.clear();
      case 'settings':
        return this.settingsDialog.open();
    }
  }

  private bindToolbar(): void {
    const on = (id: string, command: MenuCommand): void => {
      this.buttons[id]!.addEventListener('click', () => void this.command(command));
    };
    on('add-files', 'open-files');
    on('add-folder', 'open-folder');
    on('upload', 'upload');
    on('cancel', 'cancel');
    on('retry-failed', 'retry-failed');
    on('download-all', 'download-all');
    on('choose-folder', 'choose-folder');
    on('open-folder', 'open-output-folder');
    on('resize-locally', 'resize-locally');
    on('clear', 'clear');
    on('open-settings', 'settings');
    this.buttons['open-metrics']!.addEventListener('click', () => {
      this.platform.openMetricsWindow().catch((err: unknown) => this.notice(errorMessage(err), true));
    });
  }

  // ---- adding files ----

  private async pick(folders: boolean): Promise<void> {
    try {
      const added = await this.platform.pickFiles({ folders });
      if (added) this.add(added);
    } catch (err) {
      this.notice(`Could not open the files: ${errorMessage(err)}`, true);
    }
  }

  async addFromDrop(data: DataTransfer): Promise<void> {
    try {
      this.add(await this.platform.filesFromDrop(data));
    } catch (err) {
      this.notice(`Could not read the dropped files: ${errorMessage(err)}`, true);
    }
  }

  add(added: AddedFiles): void {
    const cards = this.store.addFiles(added.files);
    const parts = [`Added ${plural(cards.length, 'photo')}`];
    if (added.files.length > cards.length) parts.push(`${added.files.length - cards.length} already in the list`);
    if (added.ignored > 0) parts.push(`${plural(added.ignored, 'other file')} ignored (only JPEG, PNG, WebP, HEIC, TIFF and GIF images are taken)`);
    const unreadable = added.unreadable ?? [];
    if (unreadable.length > 0) {
      const shown = unreadable.slice(0, 3).join(', ');
      parts.push(`${plural(unreadable.length, 'item')} could not be read: ${shown}${unreadable.length > 3 ? ', …' : ''}`);
    }
    this.notice(parts.join(' · '), cards.length === 0 && unreadable.length > 0);
    for (const card of cards) {
      const check = this.platform
        .preview(card.file)
        .then((preview) => this.store.setPreview(card.key, preview))
        .catch((err: unknown) =>
          this.store.setPreview(card.key, { ok: false, path: card.key, bytes: null, error: errorMessage(err), code: errorCode(err) }),
        )
        .finally(() => this.checks.delete(card.key));
      this.checks.set(card.key, check);
    }
  }

  // ---- upload and the cluster's work ----

  private startOptionsPanel(): void {
    const initial = this.settings?.outputOptions ?? this.store.options;
    this.store.setOptions(initial);
    this.optionsPanel = new OptionsPanel(byId('options-panel'), initial, (options) => {
      this.store.setOptions(options);
      this.savingOptions = this.platform
        .updateSettings({ outputOptions: options })
        .then((settings) => (this.settings = settings))
        .catch((err: unknown) => this.notice(`The output options could not be saved: ${errorMessage(err)}`, true));
    });
    void this.readServerConfig();
  }

  /** The server's limits and formats for the panel (the offline ones when it cannot be reached). */
  private async readServerConfig(): Promise<void> {
    try {
      const check = await this.platform.checkBackend();
      if (check.config) this.optionsPanel?.setConfig(check.config);
    } catch {
      // The panel keeps what it had.
    }
  }

  /** The panel's options when valid; otherwise says why and gives null. */
  private async readyOptions(verb: string): Promise<boolean> {
    if (this.optionsPanel && this.optionsPanel.options === null) {
      this.notice(`${verb}: fix the output options first (${this.optionsPanel.problemText})`, true);
      return false;
    }
    await this.savingOptions;
    return true;
  }

  /** A completed image's bytes are in its listing, not in the status event: read once per burst of completions. */
  private readResultBytesSoon(): void {
    if (this.resultBytesRead) return;
    this.resultBytesRead = setTimeout(() => {
      this.resultBytesRead = null;
      void this.resync();
    }, 400);
  }

  async uploadAll(): Promise<void> {
    if (this.checkWait) return; // an earlier Upload is still waiting for the checks
    if (!(await this.readyOptions('Upload'))) return;
    if (!(await this.awaitChecks())) return;
    const cards = this.store.uploadable();
    if (cards.length === 0) {
      this.notice('Nothing to upload: add photos first (files refused on this computer are not sent).');
      return;
    }
    const batchId = this.store.batchId;
    this.store.markUploading(cards.map((c) => c.key));
    this.uploadsRunning++;
    this.awaitingFinish = true;
    this.cancelledRun = false;
    this.refresh();
    try {
      const items = cards.map((c) => ({ ...c.file, ...(c.uploadKey ? { idempotencyKey: c.uploadKey } : {}) }));
      const summary = await this.platform.upload(batchId, items, {
        progress: (p) => this.store.uploadProgress(p),
        result: (o) => {
          if (!o.ok && o.code === 'OFFLINE') this.setConnection({ state: 'offline', url: this.connection.url, error: o.error });
          this.store.uploadResult(o);
        },
      });
      const parts = [`Uploaded ${plural(summary.accepted, 'file')}`];
      if (summary.rejected) parts.push(`${summary.rejected} refused by the backend`);
      if (summary.failed) parts.push(`${summary.failed} could not be sent`);
      if (summary.cancelled) parts.push(`${summary.cancelled} cancelled`);
      this.notice(parts.join(' · '), summary.failed > 0);
    } catch (err) {
      // The whole call failed (e.g. invalid arguments): put the cards back.
      for (const card of cards) if (this.store.get(card.key)?.status === 'uploading') this.store.requeue(card.key);
      this.notice(`Upload failed: ${errorMessage(err)}`, true);
    } finally {
      this.uploadsRunning--;
      this.refresh();
    }
  }

  /**
   * The check on this computer applies the backend's rules, and a file it
   * refuses is never sent: an Upload pressed while some of its files are
   * still being checked waits for those checks first. False when Cancel
   * ended the wait.
   */
  private async awaitChecks(): Promise<boolean> {
    const pending = this.store
      .uploadable()
      .map((c) => this.checks.get(c.key))
      .filter((check): check is Promise<void> => check !== undefined);
    if (pending.length === 0) return true;
    const wait = { cancelled: false };
    this.checkWait = wait;
    this.notice(`Checking ${plural(pending.length, 'photo')} on this computer before sending…`);
    this.refresh();
    try {
      await Promise.all(pending);
    } finally {
      this.checkWait = null;
      this.refresh();
    }
    return !wait.cancelled;
  }

  private async cancel(): Promise<void> {
    if (this.checkWait) {
      this.checkWait.cancelled = true;
      this.notice('Upload cancelled: nothing was sent');
      return;
    }
    try {
      // Set before asking: the cancelled uploads' outcomes can arrive before the answer does.
      const sentWork = this.awaitingFinish;
      this.cancelledRun = sentWork;
      const cancelled = await this.platform.cancelUploads();
      if (cancelled === 0) {
        this.cancelledRun = false;
        this.notice('No upload to cancel');
        return;
      }
      // Already reported, with the counts, if the cancelled work ended before this answer came.
      if (sentWork && !this.cancelledRun) return;
      this.notice(`Cancelled ${plural(cancelled, 'upload')}`);
    } catch (err) {
      this.notice(errorMessage(err), true);
    }
  }

  private async retryFailed(): Promise<void> {
    // Files refused for their content are left out: they can only fail again.
    const failed = this.store.list().filter((c) => this.store.retryable(c));
    if (failed.length === 0) return;
    const unsent = failed.filter((c) => c.id === null);
    for (const card of unsent) this.store.requeue(card.key);
    const results = await Promise.all(failed.filter((c) => c.id !== null).map((c) => this.retryOne(c, false)));
    const refused = results.filter((ok) => !ok).length;
    if (unsent.length > 0) await this.uploadAll();
    if (refused > 0) this.notice(`${plural(refused, 'image')} could not be retried (see the cards)`, true);
  }

  private async retryOne(card: Card, report = true): Promise<boolean> {
    if (!this.store.retryable(card)) return false;
    if (card.id === null) {
      this.store.requeue(card.key);
      await this.uploadAll();
      return true;
    }
    try {
      await this.platform.retry(card.id);
      this.awaitingFinish = true;
      this.store.markRetried(card.key);
      return true;
    } catch (err) {
      this.store.setNote(card.key, `Retry refused: ${errorMessage(err)}`, true);
      if (report) this.notice(errorMessage(err), true);
      return false;
    }
  }

  private watchBatch(): void {
    this.stopEvents?.();
    const batchId = this.store.batchId;
    this.stopEvents = this.platform.watchEvents(batchId, {
      onStatus: (event) => {
        const key = this.store.applyStatus(event);
        const card = key === null ? undefined : this.store.get(key);
        if (card?.status === 'completed' && card.resultBytes === null) this.readResultBytesSoon();
      },
      onDeleted: (event) => this.requeueDeleted(event.id === null ? ['*'] : [event.id]),
      onConnection: (state) => {
        const wasOpen = this.connection.state === 'open';
        this.setConnection(state);
        // Events may have been missed while disconnected: re-read the batch.
        if (state.state === 'open' && !wasOpen && batchId === this.store.batchId) void this.resync();
        // A (re)connection may be to another server: its limits apply from now on.
        if (state.state === 'open' && !wasOpen) void this.readServerConfig();
      },
    });
  }

  private async resync(): Promise<void> {
    // Before the listing starts: an id learnt later may be of an upload the listing could not see yet.
    const known = this.store.knownIds();
    if (known.length === 0) return;
    try {
      const images = await this.platform.listBatch(this.store.batchId);
      this.store.reconcile(images);
      // Deleted while the events were not reaching us (their `deleted` event is gone for good).
      const absent = absentFromListing(known, images);
      // An empty listing's first page is one statement that saw none of them (a batch delete): no need to ask.
      if (absent.length) this.requeueDeleted(images.length === 0 ? absent : await this.platform.imagesGone(absent));
    } catch {
      // Offline again: the next reconnection resyncs.
    }
  }

  /** Photos deleted on the server ('*': all) go back to the queue: they are still on this computer. */
  private requeueDeleted(ids: readonly (number | '*')[]): void {
    const requeued = ids.flatMap((id) => this.store.forgetDeleted(id));
    if (requeued.length) this.notice(`${requeued.length === 1 ? 'A photo was' : `${requeued.length} photos were`} deleted on the server: back in the queue, Upload sends them again`);
  }

  // ---- results ----

  private async downloadAll(): Promise<void> {
    const cards = this.store.list().filter((c) => c.status === 'completed' && c.id !== null);
    if (cards.length === 0) {
      this.notice('Nothing to download yet: no image has completed.');
      return;
    }
    if (this.platform.capabilities.batchArchive) await this.downloadArchive(cards.map((c) => c.id!));
    else await this.download(cards);
  }

  /** In a browser: one ZIP of the batch, streamed by the backend, instead of a download per file. */
  private async downloadArchive(ids: number[]): Promise<void> {
    this.busy.download = true;
    this.refresh();
    try {
      const { name } = await this.platform.downloadArchive(this.store.batchId, ids);
      this.notice(`Downloading ${plural(ids.length, 'result')} as one ZIP: ${name} (see the browser's downloads)`);
    } catch (err) {
      this.notice(`Download failed: ${errorMessage(err)}`, true);
    } finally {
      this.busy.download = false;
      this.refresh();
    }
  }

  private async download(cards: Card[]): Promise<void> {
    this.busy.download = true;
    this.refresh();
    try {
      const summary = await this.platform.download(
        cards.map((c) => ({ key: c.key, id: c.id!, name: c.file.relativePath ?? c.file.name, index: this.indexOf(c) })),
        (outcome) => this.noteOutcome(outcome, 'Saved'),
      );
      if (summary.folder === null && this.platform.capabilities.chooseFolder) {
        this.notice('Download cancelled: no output folder chosen.');
      } else {
        this.reportWrites('Downloaded', summary.written, summary.failed, summary.folder, skippedIn(summary));
        await this.refreshSettings();
      }
    } catch (err) {
      this.notice(`Download failed: ${errorMessage(err)}`, true);
    } finally {
      this.busy.download = false;
      this.refresh();
    }
  }

  /**
   * The naming template's {index}: as the server numbers it in its ZIPs and
   * downloads, the position among the batch's uploaded photos in upload (id) order.
   */
  private indexOf(card: Card): number {
    const cards = this.store.list();
    if (card.id === null) return cards.indexOf(card) + 1;
    return batchIndex(card.id, cards.flatMap((c) => (c.id === null ? [] : [c.id])));
  }

  private async resizeLocally(): Promise<void> {
    if (!(await this.readyOptions('Resize locally'))) return;
    const cards = this.store.list();
    if (cards.length === 0) {
      this.notice('Nothing to resize: add JPG files first.');
      return;
    }
    this.busy.resize = true;
    this.refresh();
    try {
      const summary = await this.platform.resizeLocally(
        cards.map((c) => c.file),
        (outcome) => this.noteOutcome(outcome, 'Resized locally to'),
        this.store.batchId,
      );
      if (summary.folder === null) this.notice('Resize cancelled: no output folder chosen.');
      else {
        this.reportWrites('Resized locally', summary.written, summary.failed, summary.folder, skippedIn(summary));
        await this.refreshSettings();
      }
    } catch (err) {
      this.notice(`Local resize failed: ${errorMessage(err)}`, true);
    } finally {
      this.busy.resize = false;
      this.refresh();
    }
  }

  private noteOutcome(outcome: WriteOutcome, verb: string): void {
    if (outcome.ok && outcome.skipped) this.store.setNote(outcome.key, `Skipped: ${outcome.path} exists (name taken: skip)`);
    else if (outcome.ok) {
      this.store.setNote(outcome.key, `${verb} ${outcome.path}`);
      this.store.setResultBytes(outcome.key, outcome.bytes);
    }
    else this.store.setNote(outcome.key, outcome.error, true);
  }

  private reportWrites(verb: string, written: number, failed: number, folder: string | null, skipped = 0): void {
    const where = folder ? ` into ${folder}` : '';
    const skips = skipped ? ` · ${skipped} skipped (name taken)` : '';
    this.notice(`${verb} ${plural(written, 'file')}${where}${skips}${failed ? ` · ${failed} failed (see the cards)` : ''}`, failed > 0);
  }

  private async chooseFolder(): Promise<void> {
    try {
      const folder = await this.platform.chooseFolder();
      if (folder) {
        await this.refreshSettings();
        this.notice(`Results will be saved into ${folder}`);
      }
    } catch (err) {
      this.notice(errorMessage(err), true);
    }
  }

  private async openFolder(): Promise<void> {
    try {
      await this.platform.openFolder();
    } catch (err) {
      this.notice(errorMessage(err), true);
    }
  }

  private async clear(): Promise<void> {
    if (this.uploadsRunning > 0) await this.platform.cancelUploads().catch(() => 0);
    this.store.clear();
    this.statusBar.reset();
    this.awaitingFinish = false;
    this.cancelledRun = false;
    this.watchBatch();
    this.notice('Cleared. New files start a new batch.');
  }

  private async onCardAction(action: CardAction, key: string): Promise<void> {
    const card = this.store.get(key);
    if (!card) return;
    if (action === 'download') await this.download([card]);
    else if (action === 'retry') await this.retryOne(card);
    else if (action === 'remove') this.store.remove(key);
  }

  // ---- state shown around the cards ----

  private applySettings(settings: Settings): void {
    this.settings = settings;
    if (this.optionsPanel) {
      this.optionsPanel.setOptions(settings.outputOptions);
      if (this.optionsPanel.options) this.store.setOptions(this.optionsPanel.options);
    }
    this.statusBar.showOutputFolder(settings, this.platform.capabilities.chooseFolder);
    if (this.connection.url === '') this.connection = { ...this.connection, url: settings.backendUrl };
    this.refresh();
  }

  private async refreshSettings(): Promise<void> {
    try {
      this.applySettings(await this.platform.getSettings());
    } catch {
      // Not worth an error: only the status bar's folder would be stale.
    }
  }

  private setConnection(next: LiveConnection): void {
    // Each reconnection attempt after going offline is still offline until it opens: the banner and the
    // buttons must not flicker (nor Upload be clickable) for the moment an attempt takes.
    const state = next.state === 'connecting' && this.connection.state === 'offline' ? this.connection : next;
    this.connection = state;
    this.banner.show(state);
    // Asked once by itself; later, the banner's button opens Settings.
    if (ConnectionBanner.needsToken(state) && !this.askedForToken) {
      this.askedForToken = true;
      void this.settingsDialog.open();
    }
    if (state.state === 'open') this.askedForToken = false;
    this.statusBar.showConnection(state);
    this.refresh();
  }

  private refresh(): void {
    const counts = this.store.counts();
    const offline = this.connection.state === 'offline';
    this.statusBar.showProgress();

    const set = (id: string, enabled: boolean): void => {
      this.buttons[id]!.disabled = !enabled;
    };
    set('upload', !offline && !this.checkWait && this.store.uploadable().length > 0);
    set('cancel', this.checkWait !== null || this.uploadsRunning > 0 || counts.uploading > 0);
    set('retry-failed', !offline && this.store.list().some((c) => this.store.retryable(c)));
    set('download-all', !offline && !this.busy.download && counts.completed > 0);
    set('resize-locally', !this.busy.resize && counts.total > 0);
    set('open-folder', Boolean(this.settings?.outputFolder));
    set('clear', counts.total > 0);

    this.checkFinished();
  }

  private checkFinished(): void {
    if (!this.awaitingFinish || this.uploadsRunning > 0 || this.store.inFlight() > 0) return;
    const counts = this.store.counts();
    if (this.cancelledRun && counts.queued > 0) {
      // Not "finished": some files were never sent.
      this.awaitingFinish = false;
      this.cancelledRun = false;
      this.notice(`Upload cancelled: ${counts.completed} completed, ${counts.failed} failed, ${counts.queued} not uploaded`);
      document.body.dataset.batchCancelled = 'true';
      return;
    }
    if (counts.completed + counts.failed === 0) return;
    this.awaitingFinish = false;
    this.cancelledRun = false;
    const body = `${counts.completed} completed${counts.failed ? `, ${counts.failed} failed` : ''}`;
    this.notice(`Batch finished: ${body}`);
    document.body.dataset.batchFinished = 'true';
    if (this.platform.capabilities.notifications) void this.platform.notify('imgfleet: batch finished', body).catch(() => undefined);
  }

  private notice(text: string, error = false): void {
    const element = byId('notice');
    setText(element, text);
    element.classList.toggle('error', error);
    show(element, text !== '');
  }
}

function skippedIn(summary: WriteSummary): number {
  return summary.results.filter((r) => r.ok && r.skipped === true).length;
}
