/** The hub's fixed figures, derived once from its options. */
import { historyCapacity, HISTORY_SECONDS } from './history-ring.js';
import type { MetricsHubOptions, MetricsSource } from './hub.js';

/** Keys and snapshots live for three periods: one missed publish does not drop a pod. */
const LIFETIME_PERIODS = 3;

export interface HubSettings {
  periodMs: number;
  lifetimeMs: number;
  historyMs: number;
  historyLength: number;
  keyPrefix: string;
  historyPrefix: string;
  channel: string;
  source: MetricsSource;
}

export function settingsOf(options: MetricsHubOptions): HubSettings {
  if (!(options.periodSeconds > 0)) throw new RangeError('periodSeconds must be positive');
  const periodMs = options.periodSeconds * 1000;
  const keyPrefix = options.keyPrefix ?? 'metrics';
  return {
    periodMs,
    lifetimeMs: LIFETIME_PERIODS * periodMs,
    historyMs: HISTORY_SECONDS * 1000,
    historyLength: historyCapacity(options.periodSeconds),
    keyPrefix,
    historyPrefix: `${keyPrefix}-history`,
    channel: options.channel ?? 'metrics',
    source: options.redisUrl === undefined ? 'in-process' : 'redis',
  };
}

