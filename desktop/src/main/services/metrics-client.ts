/**
 * The cluster's live metrics (GET /api/v1/metrics/stream): each pod's
 * snapshot as it is published, its derived figures (whatever the function
 * computes) when they come, pods that disappear, and the health of the
 * sources behind them (Redis, stale pods, the function's errors).
 */
import { metricsHealthSchema } from '@imgfleet/backend/contract';
import type { ConnectionState, MetricsSample, MetricsUpdate } from '../../shared/models.js';
import type { ApiClient } from './api-client.js';
import { LiveStream } from './live-stream.js';

export interface MetricsClientOptions {
  client: () => ApiClient;
  onUpdate: (update: MetricsUpdate) => void;
  onState: (state: ConnectionState) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export function createMetricsClient(options: MetricsClientOptions): LiveStream {
  return new LiveStream({
    url: () => options.client().url('/api/v1/metrics/stream'),
    label: () => options.client().baseUrl,
    headers: () => options.client().authHeaders(),
    events: ['snapshot', 'derived', 'expired', 'health'],
    onEvent: (type, data) => {
      const update = toUpdate(type, data);
      if (update) options.onUpdate(update);
    },
    onState: options.onState,
    minDelayMs: options.minDelayMs,
    maxDelayMs: options.maxDelayMs,
  });
}

export function toUpdate(type: string, data: unknown): MetricsUpdate | null {
  if (typeof data !== 'object' || data === null) return null;
  if (type === 'health') {
    // Checked whole: the window shows its texts, and a backend of another version may send something else.
    const health = metricsHealthSchema.safeParse(data);
    return health.success ? { type: 'health', health: health.data } : null;
  }
  const record = data as Partial<MetricsSample>;
  if (typeof record.pod !== 'string') return null;
  if (type === 'expired') return { type: 'expired', pod: record.pod };
  if (type !== 'snapshot' && type !== 'derived') return null;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- parsed JSON: the cast names the hope, this checks it
  if (typeof record.snapshot !== 'object' || record.snapshot === null) return null;
  return {
    type,
    sample: {
      pod: record.pod,
      snapshot: record.snapshot,
      derived: record.derived ?? null,
      receivedAt: typeof record.receivedAt === 'string' ? record.receivedAt : new Date().toISOString(),
    },
  };
}
