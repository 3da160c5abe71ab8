/**
 * Reads the function runtime's output (`<functionOutputKey>:<pod>`) for every
 * known pod with one MGET, in the background, at most one read at a time.
 */
import type { Logger } from 'pino';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { DerivedFigures } from './in-process-derived.js';
import type { RedisLink } from './redis-link.js';

/** The runtime's JSON object, or null for anything else (a stray or half-written key). */
export function parseDerived(text: string | null): DerivedFigures | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as DerivedFigures) : null;
  } catch {
    return null;
  }
}

export class RuntimeDerivedReader {
  private inFlight = false;

  constructor(
    private readonly functionOutputKey: string,
    private readonly cluster: ClusterMetrics,
    private readonly logger: Logger,
  ) {}

  refresh(link: RedisLink): void {
    if (this.inFlight || !link.connected) return;
    const pods = this.cluster.pods();
    if (pods.length === 0) return;
    this.inFlight = true;
    link
      .mget(pods.map((pod) => `${this.functionOutputKey}:${pod}`))
      .then((texts) => texts.forEach((text, i) => this.cluster.putDerived(pods[i]!, parseDerived(text))))
      .catch((err: unknown) => this.logger.debug({ err }, 'metrics: reading derived figures failed'))
      .finally(() => {
        this.inFlight = false;
      });
  }
}
