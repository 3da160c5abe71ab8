/** The hub's listeners: a listener that throws is logged and never stops the others. */
import type { Logger } from 'pino';
import type { MetricsHealth, PodMetrics } from '../contract/metrics.js';

/** What listeners receive: a new snapshot, changed derived figures, a pod gone, or a change in the sources' health. */
export type MetricsEvent =
  | { type: 'snapshot'; metrics: PodMetrics }
  | { type: 'derived'; metrics: PodMetrics }
  | { type: 'expired'; pod: string }
  | { type: 'health'; health: MetricsHealth };

export type MetricsListener = (event: MetricsEvent) => void;

export class MetricsListeners {
  private readonly listeners = new Set<MetricsListener>();

  constructor(private readonly logger: Logger) {}

  /** Calls `listener` for every event until the returned function is called. */
  add(listener: MetricsListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: MetricsEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err }, 'metrics: a listener threw');
      }
    }
  }
}
