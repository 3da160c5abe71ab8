/**
 * Derived figures computed in this process with the bundled default handler,
 * for when no function runtime writes them to Redis (the embedded default, or
 * a cluster without the runtime deployed): the metrics window then still has
 * its moving averages and percentages. One handler context per pod, as the
 * runtime keeps one per input key, so each pod's 60 s history stays its own.
 */
import type { HandlerContext } from '@imgfleet/runtime/context';
import { handler } from '@imgfleet/runtime/default-handler';
import type { Snapshot } from './snapshot-contract.js';

export type DerivedFigures = Record<string, unknown>;

export class InProcessDerived {
  private readonly contexts = new Map<string, HandlerContext>();

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
      return result;
    } catch {
      // The default handler does not throw on well-formed snapshots; a
      // malformed one simply has no derived figures.
      return null;
    }
  }

  /** Drops a pod's history when the pod disappears, so memory stays bounded. */
  forget(pod: string): void {
    this.contexts.delete(pod);
  }
}
