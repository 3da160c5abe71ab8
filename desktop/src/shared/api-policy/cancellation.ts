/**
 * Cancellation and clocks without AbortController or setTimeout in the
 * types: this project has neither DOM nor Node types, so the hosts hand
 * their timers in (`Timers`) and a `Cancellation` stands in for a signal.
 */
import type { Failure } from './errors.js';

/** The host's timers (setTimeout/clearTimeout in both hosts). */
export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Stopped once, with a reason; listeners added later hear it at once. */
export class Cancellation {
  private stopped: Failure | null = null;
  private readonly listeners = new Set<(reason: Failure) => void>();

  get reason(): Failure | null {
    return this.stopped;
  }

  get cancelled(): boolean {
    return this.stopped !== null;
  }

  /** Calls `listener` when cancelled (now, if it already is); returns a function that stops listening. */
  onCancel(listener: (reason: Failure) => void): () => void {
    if (this.stopped) {
      listener(this.stopped);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  cancel(reason: Failure): void {
    if (this.stopped) return;
    this.stopped = reason;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener(reason);
  }
}

/** Waits `ms`: true when the time passed, false when `cancellation` came first. */
export function waitUnlessCancelled(ms: number, cancellation: Cancellation, timers: Timers): Promise<boolean> {
  return new Promise((resolve) => {
    let stopListening: () => void = () => undefined;
    const handle = timers.set(() => {
      stopListening();
      resolve(true);
    }, ms);
    stopListening = cancellation.onCancel(() => {
      timers.clear(handle);
      resolve(false);
    });
  });
}
