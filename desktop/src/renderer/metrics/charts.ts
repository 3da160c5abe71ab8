/**
 * The six live line charts, one dataset per pod. Only the chart.js parts in
 * use are registered (the bundle stays small); animation is off because
 * points arrive every few seconds and should simply appear.
 */
import {
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { h } from '../ui/dom.js';
import type { MetricDef, MetricsHistory } from './history.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function cssColour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export class MetricCharts {
  private readonly charts = new Map<string, Chart<'line', Array<{ x: number; y: number | null }>>>();
  private readonly colours = new Map<string, string>();

  constructor(
    container: HTMLElement,
    private readonly metrics: readonly MetricDef[],
  ) {
    const text = cssColour('--text-muted', '#666');
    const grid = cssColour('--grid', 'rgba(128,128,128,0.2)');
    for (const metric of metrics) {
      const canvas = h('canvas', { 'aria-label': `${metric.title} (${metric.unit}) per pod`, role: 'img' });
      const figure = h(
        'figure',
        { class: 'chart', 'data-metric': metric.id },
        h('figcaption', {}, metric.title, ' ', h('span', { class: 'unit' }, `(${metric.unit})`)),
        h('div', { class: 'canvas-box' }, canvas),
      );
      container.append(figure);
      const config: ChartConfiguration<'line', Array<{ x: number; y: number | null }>> = {
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
            x: {
              type: 'linear',
              ticks: { color: text, maxTicksLimit: 6, callback: (value) => clock(Number(value)) },
              grid: { color: grid },
            },
            y: {
              min: 0,
              ...(metric.max === undefined ? { suggestedMax: 1 } : { max: metric.max }),
              title: { display: true, text: metric.unit, color: text },
              ticks: { color: text },
              grid: { color: grid },
            },
          },
          plugins: {
            legend: { labels: { color: text, boxWidth: 12 } },
            tooltip: {
              callbacks: {
                title: (items) => (items[0] ? clock(items[0].parsed.x ?? 0) : ''),
                label: (item) => `${item.dataset.label}: ${Number(item.parsed.y).toFixed(metric.unit === '%' ? 1 : 2)} ${metric.unit}`,
              },
            },
          },
        },
      };
      this.charts.set(metric.id, new Chart(canvas, config));
    }
  }

  colourFor(pod: string): string {
    let colour = this.colours.get(pod);
    if (!colour) {
      colour = PALETTE[this.colours.size % PALETTE.length]!;
      this.colours.set(pod, colour);
    }
    return colour;
  }

  /** Redraws every chart for the window [now - spanMs, now]. */
  draw(history: MetricsHistory, spanMs: number, now = Date.now()): void {
    const since = now - spanMs;
    const pods = history.podNames();
    for (const metric of this.metrics) {
      const chart = this.charts.get(metric.id);
      if (!chart) continue;
      chart.data.datasets = pods.map((pod) => {
        const colour = this.colourFor(pod);
        return {
          label: pod,
          data: history.points(metric, pod, since),
          borderColor: colour,
          backgroundColor: colour,
          borderWidth: 2,
          pointRadius: 2,
          tension: 0.2,
        };
      });
      const x = chart.options.scales?.x;
      if (x) {
        x.min = since;
        x.max = now;
      }
      chart.update('none');
    }
  }

  destroy(): void {
    for (const chart of this.charts.values()) chart.destroy();
    this.charts.clear();
  }
}
