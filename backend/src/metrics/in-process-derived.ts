/**
 * Derived figures computed in this process with the bundled default handler,
 * for when no function runtime writes them to Redis (the embedded default, or
 * a cluster without the runtime deployed): the metrics window then still has
 * its moving averages and percentages. One handler context per pod, as the
 * runtime keeps one per input key, so each pod's 60 s history stays its own.
 */
import type { HandlerContext } from '@imgfleet/runtime/context';
import { handler } from '@imgfleet/runtime/default-handler';
import type { DerivedFigures, FunctionError } from '../contract/metrics.js';
import type { Snapshot } from './snapshot-contract.js';

export type { DerivedFigures };

export class InProcessDerived {
  private readonly contexts = new Map<string, HandlerContext>();
  /** Each pod's last failure, until its next snapshot goes through. */
  private readonly failures = new Map<string, FunctionError>();

  constructor(private readonly keyPrefix: string) {}

  /** Feeds one snapshot to its pod's context; null when the handler yields nothing or throws. */
  compute(snapshot: Snapshot): DerivedFigures | null {
    let context = this.contexts.get(snapshot.pod);
    if (!context) {
      context = {
        host: 'in-process',
        port: 0,
        input_key: `${this.keyPrefix}:${snapshot.pod}`,
        output_key: '',
        function_getmtime: 0,
        last_execution: null,
        env: {},
      };
      this.contexts.set(snapshot.pod, context);
    }
    try {
      const result = handler(snapshot, context);
      context.last_execution = new Date();
      this.failures.delete(snapshot.pod);
      return result;
    } catch (err) {
      // The default handler does not throw on well-formed snapshots; a
      // malformed one has no derived figures, and the failure is reported
      // as the runtime would report it.
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.failures.set(snapshot.pod, { pod: snapshot.pod, error, kind: 'exception', at: new Date().toISOString(), handler: 'default-handler.handler' });
      return null;
    }
  }

  /** The unresolved failures, by pod name. */
  errors(): FunctionError[] {
    return [...this.failures.values()].sort((a, b) => ((a.pod ?? '') < (b.pod ?? '') ? -1 : 1));
  }

  /** Drops a pod's history when the pod disappears, so memory stays bounded. */
  forget(pod: string): void {
    this.contexts.delete(pod);
    this.failures.delete(pod);
  }
}
