/**
 * The line charts, made and dropped as the chart list changes (chart-specs.ts:
 * the function's keys decide part of it). Only the chart.js parts in use are
 * registered (the bundle stays small); animation is off because points arrive
 * every few seconds and should simply appear.
 *
 * The legend is HTML, one toggle button per line, and which lines are hidden
 * is kept here by label: the charts are redrawn every second with fresh
 * datasets, which would reset chart.js's own per-dataset visibility (a hidden
 * line came back within a second). A stopped pod's line is dashed and its
 * legend entry says "gone".
 */
import { CategoryScale, Chart, Decimation, LineController, LineElement, LinearScale, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { h, setText, show } from '../ui/dom.js';
import type { ChartGroup, ChartSpec } from './chart-specs.js';
import type { MetricsHistory, Series } from './history.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Decimation);

/** Above this many points a line is drawn without point markers: an hour of a few pods is redrawn every second. */
const MARKER_LIMIT = 60;

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

type LineChart = Chart<'line', { x: number; y: number | null }[]>;

function cssColour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Stable colours per scope: a pod keeps its colour in every pod chart, a node in every node chart. */
class Colours {
  private readonly assigned = new Map<string, string>();

  of(label: string): string {
    let colour = this.assigned.get(label);
    if (!colour) {
      colour = PALETTE[this.assigned.size % PALETTE.length]!;
      this.assigned.set(label, colour);
    }
    return colour;
  }
}

function chartConfig(spec: ChartSpec): ChartConfiguration<'line', { x: number; y: number | null }[]> {
  const text = cssColour('--text-muted', '#666');
  const grid = cssColour('--grid', 'rgba(128,128,128,0.2)');
  return {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        // Axes and the unit stay drawn whatever is hidden or missing.
        x: {
          type: 'linear',
          display: true,
          ticks: { color: text, maxTicksLimit: 6, callback: (value) => clock(Number(value)) },
          grid: { color: grid },
        },
        y: {
          display: true,
          min: 0,
          ...(spec.max === undefined ? { suggestedMax: spec.suggestedMax ?? 1 } : { max: spec.max }),
          title: { display: true, text: spec.unit, color: text },
          ticks: { color: text },
          grid: { color: grid },
        },
      },
      plugins: {
        legend: { display: false },
        // An hour at a 5 s period is 720 points per line, more than the chart has pixels: keep each pixel column's min and max.
        decimation: { enabled: true, algorithm: 'min-max' },
        tooltip: {
          callbacks: {
            title: (items) => (items[0] ? clock(items[0].parsed.x ?? 0) : ''),
            label: (item) => `${item.dataset.label}: ${Number(item.parsed.y).toFixed(spec.unit === '%' ? 1 : 2)} ${spec.unit}`,
          },
        },
      },
    },
  };
}

/** One chart with its legend and the set of lines the user hid. */
class MetricChart {
  readonly hidden = new Set<string>();
  readonly figure: HTMLElement;
  private readonly chart: LineChart;
  private readonly legend: HTMLUListElement;
  private readonly caption: HTMLElement;
  private readonly emptyNote: HTMLParagraphElement;
  private legendKey = '';
  private lines: readonly Pick<Series, 'label' | 'gone' | 'note'>[] = [];

  constructor(
    container: HTMLElement,
    spec: ChartSpec,
    private readonly colours: Colours,
  ) {
    const canvas = h('canvas', { 'aria-label': `${spec.title} (${spec.unit})`, role: 'img' });
    this.legend = h('ul', { class: 'legend', 'aria-label': `Lines of ${spec.title}` });
    this.caption = h('span', { class: 'title' }, spec.title);
    this.emptyNote = h('p', { class: 'empty-note', hidden: true }, spec.emptyNote ?? '');
    this.figure = h(
      'figure',
      { class: 'chart', 'data-metric': spec.metric, 'data-group': spec.group, 'data-node': spec.node, 'data-view': spec.view },
      h('figcaption', {}, this.caption, ' ', h('span', { class: 'unit' }, `(${spec.unit})`)),
      h('div', { class: 'canvas-box' }, canvas),
      this.emptyNote,
      this.legend,
    );
    // In the page before chart.js measures it; MetricCharts puts it in its place afterwards.
    container.append(this.figure);
    this.chart = new Chart(canvas, chartConfig(spec));
    this.legend.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-series]');
      if (button) this.toggle(button.dataset.series!);
    });
  }

  private toggle(label: string): void {
    if (this.hidden.has(label)) this.hidden.delete(label);
    else this.hidden.add(label);
    for (const dataset of this.chart.data.datasets) dataset.hidden = this.hidden.has(dataset.label ?? '');
    this.legendKey = '';
    this.renderLegend(this.lines);
    this.chart.update('none');
  }

  /** Redraws with `spec`'s current lines (its title may change: the pods' figures may change source). */
  draw(spec: ChartSpec, series: Series[], since: number, now: number): void {
    setText(this.caption, spec.title);
    show(this.emptyNote, spec.emptyNote !== undefined && series.length === 0);
    this.chart.data.datasets = series.map((line) => {
      const colour = this.colours.of(line.label);
      return {
        label: line.label,
        data: line.points,
        borderColor: colour,
        backgroundColor: colour,
        borderWidth: 2,
        pointRadius: line.points.length > MARKER_LIMIT ? 0 : 2,
        tension: 0.2,
        hidden: this.hidden.has(line.label),
        ...(line.gone ? { borderDash: [6, 4] } : {}),
      };
    });
    const x = this.chart.options.scales?.x;
    if (x) {
      x.min = since;
      x.max = now;
    }
    this.lines = series;
    this.renderLegend(series);
    // How many points each line has in the span, for a reader of the page (and its tests), without rebuilding the legend.
    const counts = new Map(series.map((line) => [line.label, line.points.filter((p) => p.y !== null).length]));
    for (const button of this.legend.querySelectorAll<HTMLButtonElement>('button[data-series]')) {
      button.dataset.points = String(counts.get(button.dataset.series!) ?? 0);
    }
    this.chart.update('none');
  }

  /** Rebuilt only when the lines, their state or the hidden set change, so a button keeps focus. */
  private renderLegend(series: readonly Pick<Series, 'label' | 'gone' | 'note'>[]): void {
    const key = JSON.stringify([series.map((s) => [s.label, s.gone, s.note]), [...this.hidden].sort()]);
    if (key === this.legendKey) return;
    this.legendKey = key;
    this.legend.replaceChildren(
      ...series.map((line) => {
        const shown = !this.hidden.has(line.label);
        // Through the CSSOM: the page's CSP refuses inline style attributes.
        const swatch = h('span', { class: 'swatch' });
        swatch.style.backgroundColor = this.colours.of(line.label);
        return h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'legend-item',
              'data-series': line.label,
              'data-colour': this.colours.of(line.label),
              'data-gone': line.gone,
              'aria-pressed': String(shown),
              title: shown ? `Hide ${line.label}` : `Show ${line.label}`,
            },
            swatch,
            line.label,
            line.gone ? h('span', { class: 'gone' }, ' (gone)') : null,
            line.note ? h('span', { class: 'note' }, ` (${line.note})`) : null,
          ),
        );
      }),
    );
  }

  destroy(): void {
    this.chart.destroy();
    this.figure.remove();
  }
}

const GROUP_TITLES: Record<ChartGroup, string> = {
  pod: 'Each pod',
  'per-core': 'Per core, from the function',
  percent: 'Percentages, from the function',
  other: 'Other figures from the function',
};

/**
 * Every chart of the window, kept in step with the chart list: new specs get
 * a chart, vanished ones lose theirs, and each group of charts gets a heading.
 */
export class MetricCharts {
  private readonly charts = new Map<string, MetricChart>();
  private readonly headings = new Map<ChartGroup, HTMLElement>();
  private readonly palettes = { pod: new Colours(), node: new Colours(), core: new Colours() };

  constructor(private readonly container: HTMLElement) {}

  colourFor(pod: string): string {
    return this.palettes.pod.of(pod);
  }

  /** Redraws every chart of `specs` for the window [now - spanMs, now]; `isGone` says which pods have stopped. */
  draw(specs: readonly ChartSpec[], history: MetricsHistory, spanMs: number, isGone: (pod: string) => boolean, now = Date.now()): void {
    const since = now - spanMs;
    const wanted = new Set(specs.map((spec) => spec.key));
    for (const [key, chart] of this.charts) {
      if (wanted.has(key)) continue;
      chart.destroy();
      this.charts.delete(key);
    }
    const order: HTMLElement[] = [];
    for (const spec of specs) {
      let chart = this.charts.get(spec.key);
      if (!chart) {
        chart = new MetricChart(this.container, spec, this.palettes[spec.palette]);
        this.charts.set(spec.key, chart);
      }
      if (!order.some((el) => el === this.headings.get(spec.group))) order.push(this.headingOf(spec.group));
      order.push(chart.figure);
      chart.draw(spec, spec.lines(history, since, isGone), since, now);
    }
    // Moved only when the order changed: a chart keeps its canvas and its hidden lines.
    const current = [...this.container.children];
    if (current.length !== order.length || current.some((el, i) => el !== order[i])) this.container.replaceChildren(...order);
  }

  private headingOf(group: ChartGroup): HTMLElement {
    let heading = this.headings.get(group);
    if (!heading) {
      heading = h('h2', { class: 'chart-group', 'data-group': group }, GROUP_TITLES[group]);
      this.headings.set(group, heading);
    }
    return heading;
  }

  destroy(): void {
    for (const chart of this.charts.values()) chart.destroy();
    this.charts.clear();
  }
}
