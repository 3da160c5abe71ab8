/**
 * The health of the metrics' sources, as GET /api/v1/metrics and its stream
 * report it: the answering pod's link to Redis, pods that went silent without
 * a goodbye, and the function's unresolved errors. Each is a fact that stops
 * being reported by itself once it is no longer true, so a client's notices
 * clear themselves. A `health` event goes out whenever the report changes.
 */
import type { FunctionError, MetricsHealth, RedisHealth } from '../contract/metrics.js';
import type { MetricsListeners } from './listeners.js';
import type { RedisLinkState } from './redis-link.js';

/** `link` undefined: Redis configured but the hub not started yet. */
export function redisHealthOf(configured: boolean, link: RedisLinkState | undefined): RedisHealth {
  if (!configured) return { state: 'not-configured', since: null, error: null };
  if (!link) return { state: 'unreachable', since: null, error: 'not started' };
  return { state: link.connected ? 'connected' : 'unreachable', since: new Date(link.sinceMs).toISOString(), error: link.error };
}

export interface HealthSources {
  redis: () => RedisHealth;
  stalePods: () => MetricsHealth['stalePods'];
  functionSource: MetricsHealth['function']['source'];
  functionErrors: () => FunctionError[];
}

export class HealthReporter {
  private lastText = '';

  constructor(
    private readonly sources: HealthSources,
    private readonly listeners: MetricsListeners,
  ) {}

  current(): MetricsHealth {
    const { redis, stalePods, functionSource, functionErrors } = this.sources;
    return { redis: redis(), stalePods: stalePods(), function: { source: functionSource, errors: functionErrors() } };
  }

  /** Tells the listeners when the report differs from the last one they were told. */
  check(): void {
    const health = this.current();
    const text = JSON.stringify(health);
    if (text === this.lastText) return;
    this.lastText = text;
    this.listeners.emit({ type: 'health', health });
  }
}
