/**
 * Requests to a handler's process, matched to their replies by id.
 * Each request has a deadline; when the other side goes away every waiting
 * request fails at once. Shared by the Python and the JavaScript invokers.
 */
import type { ErrorKind } from './errors.js';

export class TimedOut extends Error {}

/** The handler's process is gone (exited, crashed, could not start, was killed over its memory limit). */
export class HandlerGone extends Error {
  constructor(
    message: string,
    /** What to report when the reason is known ('memory'); otherwise the call is a crash. */
    readonly kind?: ErrorKind,
  ) {
    super(message);
  }
}

interface Waiter<R> {
  resolve: (reply: R) => void;
  reject: (err: Error) => void;
}

export class ReplyChannel<R extends { id: number }> {
  private readonly pending = new Map<number, Waiter<R>>();
  private nextId = 1;
  private closed = false;
  private reason: string | undefined;

  constructor(private readonly notRunning: string) {}

  get open(): boolean {
    return !this.closed;
  }

  /** Why the other side went away, once it has. */
  get closedBecause(): string | undefined {
    return this.reason;
  }

  /** Calls `send` with a fresh id; resolves with the reply carrying that id. */
  request(send: (id: number) => void, timeoutMs: number): Promise<R> {
    if (this.closed) return Promise.reject(new HandlerGone(this.notRunning));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimedOut(`no reply within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      send(id);
    });
  }

  /** A reply arrived (one nobody waits for any more, after a timeout, is dropped). */
  deliver(reply: R): void {
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    waiter?.resolve(reply);
  }

  /** The other side is gone: fail everything waiting, and every later request. Returns the error (undefined if already closed). */
  close(why: string, kind?: ErrorKind): HandlerGone | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    this.reason = why;
    const err = new HandlerGone(why, kind);
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
    return err;
  }
}
