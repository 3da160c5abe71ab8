/**
 * What the window shows around the cards: the overall progress with the
 * per-status summary and the time left, and the bottom bar (connection,
 * output folder, batch). A view: MainWindow gives it the store's state.
 */
import { savingText } from './cards-view.js';
import { byId, setText, show } from '../ui/dom.js';
import { plural } from '../ui/format.js';
import type { LiveConnection, Settings } from '../platform/platform.js';
import type { BatchStore } from './batch-store.js';
import { EtaEstimator, cardWork, formatDuration } from './progress.js';
import { ConnectionBanner } from './connection-banner.js';

export class StatusBar {
  private readonly eta = new EtaEstimator();

  constructor(private readonly store: BatchStore) {}

  /** A new batch: the time-left estimate starts again. */
  reset(): void {
    this.eta.reset();
  }

  showProgress(): void {
    const counts = this.store.counts();
    const total = counts.total;
    const done = this.store.list().reduce((sum, card) => sum + cardWork(card), 0);
    const progress = byId<HTMLProgressElement>('overall-progress');
    progress.max = Math.max(1, total);
    progress.value = done;
    const parts = [
      plural(total, 'file'),
      counts.queued ? `${counts.queued} queued` : '',
      counts.uploading ? `${counts.uploading} uploading` : '',
      counts.pending ? `${counts.pending} pending` : '',
      counts.processing ? `${counts.processing} processing` : '',
      counts.completed ? `${counts.completed} completed` : '',
      counts.failed ? `${counts.failed} failed` : '',
    ].filter(Boolean);
    setText(byId('summary-text'), total === 0 ? 'No files yet' : parts.join(' · '));
    const saving = this.store.savings();
    setText(
      byId('saving-text'),
      saving.files === 0 ? '' : `Total: ${savingText(saving.originalBytes, saving.resultBytes)} over ${plural(saving.files, 'result')}`,
    );
    const active = this.store.inFlight() > 0;
    const eta = active ? this.eta.update(done, total - counts.queued, Date.now()) : null;
    setText(byId('eta'), active ? (eta === null ? 'Estimating time left…' : `About ${formatDuration(eta)} left`) : '');
    show(byId('empty-state'), total === 0);
    setText(byId('batch-id'), `Batch ${this.store.batchId.slice(0, 8)}`);
  }

  showConnection(state: LiveConnection): void {
    document.body.dataset.connection = state.state;
    setText(
      byId('connection'),
      state.state === 'open'
        ? `● Connected to ${state.url}`
        : state.state === 'connecting'
          ? `○ Connecting to ${state.url}…`
          : ConnectionBanner.needsToken(state)
            ? `✕ API token needed (${state.url})`
            : `✕ Offline (${state.url})`,
    );
  }

  showOutputFolder(settings: Settings, canChoose: boolean): void {
    setText(
      byId('output-folder'),
      !canChoose ? 'Results go to the browser’s downloads' : settings.outputFolder ? `Output: ${settings.outputFolder}` : 'Output folder: not chosen yet',
    );
  }
}
