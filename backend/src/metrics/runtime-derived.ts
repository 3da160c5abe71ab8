/**
 * Reads the function runtime's output for every known pod with one MGET, in
 * the background, at most one read at a time: its figures
 * (`<functionOutputKey>:<pod>`) and its error records (`…:<pod>:error` for a
 * pod's context, `<functionOutputKey>:error` for a function that fails for
 * every pod, e.g. one that does not load). The key names are already
 * prefixed (METRICS_KEY_PREFIX), as the runtime prefixes what it writes.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { DerivedFigures, FunctionError } from '../contract/metrics.js';
import type { ClusterMetrics } from './cluster-metrics.js';
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

/** The fields of the runtime's error record (backend/runtime/src/errors.ts) the health report uses. */
const errorRecordSchema = z.object({
  error: z.string(),
  kind: z.string(),
  at: z.string(),
  handler: z.string().optional(),
  resolved: z.boolean().optional(),
});

/** An unresolved error record as the health report shows it; null for a resolved, missing or foreign value. */
export function parseErrorRecord(text: string | null, pod: string | null): FunctionError | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const record = errorRecordSchema.safeParse(value);
  if (!record.success || record.data.resolved === true) return null;
  const { error, kind, at, handler } = record.data;
  return { pod, error, kind, at, handler: handler ?? null };
}

export class RuntimeDerivedReader {
  private inFlight = false;
  private failures: FunctionError[] = [];

  constructor(
    private readonly functionOutputKey: string,
    private readonly cluster: ClusterMetrics,
    private readonly logger: Logger,
    /** Called after a read whose error records differ from the previous read's. */
    private readonly onErrorsChanged: () => void,
  ) {}

  /** The unresolved failures as of the last read (the function-wide one first, then by pod). */
  errors(): FunctionError[] {
    return this.failures;
  }

  refresh(link: RedisLink): void {
    if (this.inFlight || !link.connected) return;
    const pods = this.cluster.pods().sort();
    this.inFlight = true;
    const out = this.functionOutputKey;
    link
      .mget([`${out}:error`, ...pods.flatMap((pod) => [`${out}:${pod}`, `${out}:${pod}:error`])])
      .then(([functionWide = null, ...perPod]) => {
        const failures = [parseErrorRecord(functionWide, null)];
        pods.forEach((pod, i) => {
          this.cluster.putDerived(pod, parseDerived(perPod[2 * i] ?? null));
          failures.push(parseErrorRecord(perPod[2 * i + 1] ?? null, pod));
        });
        const next = failures.filter((f): f is FunctionError => f !== null);
        const changed = JSON.stringify(next) !== JSON.stringify(this.failures);
        this.failures = next;
        if (changed) this.onErrorsChanged();
      })
      .catch((err: unknown) => this.logger.debug({ err }, 'metrics: reading derived figures failed'))
      .finally(() => {
        this.inFlight = false;
      });
  }
}
