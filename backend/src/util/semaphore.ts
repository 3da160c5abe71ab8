/**
 * Counts permits; `acquire` waits for one. Bounds how many images sit in
 * memory, and how many uploads hold a database transaction, at once.
 *
 * A wait can be abandoned (the client went away): the waiter is removed, so
 * an aborted request can never keep a permit nobody will release. The age of
 * the oldest waiter tells readiness whether the pod is starved.
 *
 * Not p-limit: a permit here is held across stream events and released by
 * a handle (an upload keeps it while its parts arrive), a waiter leaves the
 * queue when its signal aborts, and readiness reads the oldest wait; p-limit
 * wraps one function call and offers none of the three.
 */
export class AbortedError extends Error {
  constructor(readonly reason: unknown) {
    super('the wait was abandoned');
    this.name = 'AbortedError';
  }
}

interface Waiter {
  since: number;
  grant: () => void;
}

export class Semaphore {
  private readonly waiters: Waiter[] = [];

  constructor(private permits: number) {}

  /** How long the longest waiter has waited, ms (0 when nobody waits). */
  oldestWaitMs(now = Date.now()): number {
    const first = this.waiters[0];
    return first ? now - first.since : 0;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    if (this.permits > 0) {
      this.permits--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          since: Date.now(),
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new AbortedError(signal!.reason));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(waiter);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant();
      else this.permits++;
    };
  }
}

/**
 * A budget of units (bytes of decode memory) shared by tasks of different
 * sizes, granted first come first served so a large task is not starved by
 * a stream of small ones. p-limit counts tasks, not weights.
 */
export class WeightedSemaphore {
  private readonly waiters: { units: number; grant: () => void }[] = [];
  private used = 0;

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Requests waiting for their units. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves once `units` fit; a request above the capacity can never fit and throws at once. */
  async acquire(units: number): Promise<() => void> {
    if (units > this.capacity) throw new RangeError(`${units} units can never fit in a budget of ${this.capacity}`);
    if (this.waiters.length === 0 && this.used + units <= this.capacity) {
      this.used += units;
    } else {
      await new Promise<void>((resolve) => this.waiters.push({ units, grant: resolve }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= units;
      this.grantWaiters();
    };
  }

  private grantWaiters(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.units <= this.capacity) {
      const next = this.waiters.shift()!;
      this.used += next.units;
      next.grant();
    }
  }
}
