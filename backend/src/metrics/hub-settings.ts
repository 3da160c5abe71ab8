/** The hub's fixed figures, derived once from its options. */
import type { MetricsSource } from '../contract/metrics.js';
import { historyCapacity, HISTORY_SECONDS } from './history-ring.js';
import type { MetricsHubOptions } from './hub.js';

/** Keys and snapshots live for three periods: one missed publish does not drop a pod. */
const LIFETIME_PERIODS = 3;
/** A pod silent for two periods has missed at least one publish: its figures are stale. */
const STALE_PERIODS = 2;
/** How long a pod that went silent without a goodbye is reported stale: long enough to be seen, not for the whole hour its line stays. */
const STALE_NOTICE_MS = 10 * 60_000;

export interface HubSettings {
  periodMs: number;
  lifetimeMs: number;
  staleAfterMs: number;
  staleNoticeMs: number;
  historyMs: number;
  historyLength: number;
  /** METRICS_KEY_PREFIX, prepended verbatim to every key and channel below. */
  prefix: string;
  keyPrefix: string;
  historyPrefix: string;
  channel: string;
  /** The function runtime's output key, prefixed; undefined: derived figures are computed in-process. */
  functionOutputKey: string | undefined;
  source: MetricsSource;
}

export function settingsOf(options: MetricsHubOptions): HubSettings {
  if (!(options.periodSeconds > 0)) throw new RangeError('periodSeconds must be positive');
  const periodMs = options.periodSeconds * 1000;
  const prefix = options.prefix ?? '';
  const keyPrefix = `${prefix}${options.keyPrefix ?? 'metrics'}`;
  return {
    periodMs,
    lifetimeMs: LIFETIME_PERIODS * periodMs,
    staleAfterMs: STALE_PERIODS * periodMs,
    staleNoticeMs: Math.max(STALE_NOTICE_MS, 20 * periodMs),
    historyMs: HISTORY_SECONDS * 1000,
    historyLength: historyCapacity(options.periodSeconds),
    prefix,
    keyPrefix,
    historyPrefix: `${keyPrefix}-history`,
    channel: `${prefix}${options.channel ?? 'metrics'}`,
    functionOutputKey: options.functionOutputKey === undefined ? undefined : `${prefix}${options.functionOutputKey}`,
    source: options.redisUrl === undefined ? 'in-process' : 'redis',
  };
}
