/**
 * The metrics window: charts per pod (its own and the application's figures)
 * and of whatever the function computes (per core, grouped per node, or the
 * mean of the cores; percentages; other figures), drawn at once from the
 * backend's history and then live from the metrics stream; a time span (1, 5,
 * 15 min, 1 h), pause/resume (the data keeps arriving while paused; only the
 * drawing stops), stopped pods kept and marked gone, notices when the data is
 * stale or a source fails (Redis, a pod, the function), a clear "no metrics"
 * state, and the statistics of the earlier dashboard with its recent images.
 */
import { metricsHealthSchema } from '@imgfleet/backend/contract';
import { byId, h, setText, show } from '../ui/dom.js';
import { errorCode, errorMessage, type LiveConnection, type MetricsHealth, type MetricsOverview, type Platform } from '../platform/platform.js';
import { chartSpecs } from './chart-specs.js';
import { MetricCharts } from './charts.js';
import { HealthNotices } from './health-notices.js';
import { MetricsHistory } from './history.js';
import { renderStats } from './stats-panel.js';

const STATS_EVERY_MS = 5000;
const RETRY_WATCH_MS = 5000;
const MIN_DRAW_GAP_MS = 500;

export type MetricsState = 'waiting' | 'live' | 'empty' | 'offline';

export class MetricsWindow {
  readonly history = new MetricsHistory();
  private charts!: MetricCharts;
  private spanMs = 5 * 60_000;
  private paused = false;
  private drawScheduled = false;
  private lastDrawAt = 0;
  private overview: MetricsOverview | null = null;
  /** The backend's latest health report (with the overview, then from the stream). */
  private health: MetricsHealth | null = null;
  private notices!: HealthNotices;
  private readonly meanOfCores = h('input', { type: 'checkbox', id: 'cpu-mean' });
  private connection: LiveConnection = { state: 'connecting', url: '' };
  /**
   * The backend went away and has not answered since: a reconnection attempt
   * ('connecting') is still "Backend unreachable", or the window would flip to
   * "No metrics" and back at every attempt.
   */
  private unreachable = false;
  private startedAt = Date.now();
  private stop: (() => void) | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private readonly staleNotice = h('p', { id: 'stale-metrics', class: 'banner notice', role: 'status', hidden: true });

  constructor(private readonly platform: Platform) {}

  async start(): Promise<void> {
    document.body.dataset.platform = this.platform.kind;
    // Served by the backend (also as /dashboard), the page is a tab of its own: give a way back to the photos.
    if (this.platform.kind === 'browser') {
      byId('span')
        .closest('.group')
        ?.prepend(h('a', { id: 'back-to-app', class: 'nav-link', href: './' }, '← Photos'));
    }
    byId('partial-metrics').after(this.staleNotice);
    this.notices = new HealthNotices(this.staleNotice);
    this.charts = new MetricCharts(byId('charts'));
    byId('pause').after(h('label', { class: 'toggle', title: 'One line per node: the mean of its cores' }, this.meanOfCores, ' Mean of cores'));
    this.meanOfCores.addEventListener('change', () => this.draw());

    const span = byId<HTMLSelectElement>('span');
    span.addEventListener('change', () => {
      this.spanMs = Number(span.value) * 60_000;
      this.draw();
    });
    const pause = byId<HTMLButtonElement>('pause');
    pause.addEventListener('click', () => {
      this.paused = !this.paused;
      pause.textContent = this.paused ? 'Resume' : 'Pause';
      pause.setAttribute('aria-pressed', String(this.paused));
      document.body.dataset.paused = String(this.paused);
      if (!this.paused) this.draw();
    });

    await this.watch();
    this.startedAt = Date.now();
    this.draw();
    this.refreshState();
    void this.refreshStats();
    // The time axis moves even when no data arrives; the state may change with time alone.
    this.timers.push(setInterval(() => this.draw(), 1000));
    this.timers.push(setInterval(() => void this.refreshStats(), STATS_EVERY_MS));
    window.addEventListener('beforeunload', () => this.dispose());
    document.body.dataset.ready = 'true';
  }

  /**
   * Starts the stream. If even that is refused (no token yet, backend down at
   * start), tries again every few seconds: a token saved in the main window
   * then brings this view to life without a reload.
   */
  private async watch(): Promise<void> {
    try {
      const watch = await this.platform.watchMetrics(
        (update) => {
          if (update.type === 'health') {
            // Checked here too: served by the backend, the page gets the stream's text as it is.
            const health = metricsHealthSchema.safeParse(update.health);
            if (health.success) this.health = health.data;
            this.refreshState();
          } else if (this.history.apply(update)) this.scheduleDraw();
        },
        (state) => {
          this.connection = state;
          this.unreachable = state.state === 'offline' || (state.state === 'connecting' && this.unreachable);
          this.refreshState();
        },
      );
      this.stop = watch.stop;
      this.overview = watch.overview;
      this.unreachable = false; // it answered
      // The stream's own health event may already have come: it is the newer one.
      this.health ??= watch.overview.health ?? null;
      this.history.load(watch.overview.history ?? [], watch.overview.serverTime);
      for (const sample of watch.overview.pods) this.history.apply({ type: 'snapshot', sample });
    } catch (err) {
      this.unreachable = true;
      this.connection = {
        state: 'offline',
        url: '',
        error: errorMessage(err),
        ...(errorCode(err) === 'UNAUTHORIZED' ? { code: 'UNAUTHORIZED' as const } : {}),
      };
      this.refreshState();
      const retry = setTimeout(() => void this.watch(), RETRY_WATCH_MS);
      this.timers.push(retry);
    }
  }

  dispose(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.stop?.();
  }

  /**
   * Snapshots of every pod arrive several times a second in a cluster: they
   * are drawn together, at most every MIN_DRAW_GAP_MS, so a busy machine's
   * window never falls behind its own event queue (it then drew snapshots
   * from seconds ago).
   */
  private scheduleDraw(): void {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    const wait = Math.max(0, this.lastDrawAt + MIN_DRAW_GAP_MS - Date.now());
    setTimeout(() => {
      this.drawScheduled = false;
      requestAnimationFrame(() => this.draw());
    }, wait);
  }

  private draw(): void {
    this.lastDrawAt = Date.now();
    this.refreshState();
    if (this.paused) return;
    const now = Date.now();
    this.history.prune(now);
    const isGone = (pod: string): boolean => this.history.isGone(pod, now, this.silentAfterMs());
    const specs = chartSpecs(this.history, { meanOfCores: this.meanOfCores.checked, since: now - this.spanMs, isGone, livePods: this.livePods() });
    this.charts.draw(specs, this.history, this.spanMs, isGone, now);
  }

  private periodMs(): number {
    return (this.overview?.periodSeconds ?? 5) * 1000;
  }

  /** A pod is gone after three silent periods, as its Redis key would be. */
  private silentAfterMs(): number {
    return 3 * this.periodMs() + 1000;
  }

  private livePods(): string[] {
    return this.history.livePods(Date.now(), this.silentAfterMs());
  }

  /** Milliseconds since the last snapshot when that is more than two periods (or the stream is down), else null. */
  staleForMs(now = Date.now()): number | null {
    const last = this.history.lastUpdate();
    if (last === null) return null;
    const age = now - last;
    return this.connection.state !== 'open' || age > 2 * this.periodMs() + 1000 ? age : null;
  }

  private refreshStale(): void {
    const age = this.staleForMs();
    document.body.dataset.stale = String(age !== null);
    show(this.staleNotice, age !== null);
    if (age === null) return;
    const last = new Date(Date.now() - age).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    const why = this.connection.state === 'open' ? 'no new snapshot' : 'the metrics stream is down';
    setText(this.staleNotice, `Data is stale: ${why}; the last one arrived ${Math.round(age / 1000)} s ago (${last}).`);
  }

  state(): MetricsState {
    if (this.connection.state === 'offline' || (this.connection.state === 'connecting' && this.unreachable)) return 'offline';
    if (this.livePods().length > 0) return 'live';
    const period = this.periodMs();
    // Long enough for every pod to have published at least twice.
    const redisDown = this.overview?.redisConnected === false || this.health?.redis.state === 'unreachable';
    if (redisDown || Date.now() - this.startedAt > 2.5 * period) return 'empty';
    return 'waiting';
  }

  private refreshState(): void {
    const state = this.state();
    document.body.dataset.metricsState = state;
    show(byId('no-metrics'), state === 'empty' || state === 'offline');
    if (state === 'empty' || state === 'offline') this.explainNoMetrics(state);
    this.refreshHeader();
    this.refreshStale();
    // While the stream is down the last report is old news: the "offline" state says what matters.
    const troubled = this.notices.render(this.connection.state === 'offline' ? null : this.health, this.overview?.pod ?? null);
    document.body.dataset.healthy = String(!troubled);
    setText(
      byId('connection'),
      this.connection.state === 'open'
        ? troubled
          ? '◐ Live, with problems'
          : '● Live'
        : this.connection.state === 'connecting'
          ? '○ Connecting…'
          : '✕ Offline',
    );
    document.body.dataset.connection = this.connection.state;
    // Said by the Redis notice now, with when and why.
    show(byId('partial-metrics'), false);
  }

  private explainNoMetrics(state: 'empty' | 'offline'): void {
    if (state === 'offline' && this.connection.code === 'UNAUTHORIZED') {
      setText(byId('no-metrics-title'), 'API token needed');
      setText(
        byId('no-metrics-detail'),
        `${this.connection.url || 'The backend'} asks for one: ${this.connection.error ?? 'no token given'}. Enter it in the main window's Settings; this view reconnects by itself.`,
      );
    } else if (state === 'offline') {
      setText(byId('no-metrics-title'), 'Backend unreachable');
      setText(
        byId('no-metrics-detail'),
        `${this.connection.url || 'The backend'} does not answer (${this.connection.error ?? 'no connection'}). Reconnecting${
          this.connection.retryInMs ? ` in ${Math.ceil(this.connection.retryInMs / 1000)} s` : ''
        }…`,
      );
    } else {
      const o = this.overview;
      setText(byId('no-metrics-title'), 'No metrics: Redis/runtime not reachable');
      setText(
        byId('no-metrics-detail'),
        `The backend answers, but no pod has published a snapshot${o ? ` in the last ${Math.round(3 * o.periodSeconds)} s` : ''}.` +
          (o ? ` Source: ${o.source}${o.redisConnected === null ? '' : `, Redis ${o.redisConnected ? 'connected' : 'not connected'}`}.` : ''),
      );
    }
  }

  /** The pods line: who publishes, from where, how often, under which prefix, and who has gone. */
  private refreshHeader(): void {
    const pods = this.livePods();
    const gone = this.history.podNames().filter((pod) => !pods.includes(pod));
    const o = this.overview;
    setText(
      byId('pods'),
      (pods.length === 0
        ? 'No pods'
        : `${pods.length} ${pods.length === 1 ? 'pod' : 'pods'}: ${pods.join(', ')}` +
          (o ? ` · source ${o.source} · every ${o.periodSeconds} s` : '') +
          (o?.keyPrefix ? ` · prefix ${o.keyPrefix}` : '')) + (gone.length > 0 ? ` · gone: ${gone.join(', ')}` : ''),
    );
  }

  private async refreshStats(): Promise<void> {
    try {
      renderStats(await this.platform.stats());
      show(byId('stats-error'), false);
    } catch (err) {
      setText(byId('stats-error'), `Statistics unavailable: ${errorMessage(err)}`);
      show(byId('stats-error'), true);
    }
  }
}
