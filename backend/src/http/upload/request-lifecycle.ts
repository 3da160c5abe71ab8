/**
 * The life of one upload request, as an AbortSignal that everything working
 * for it (waiting for a slot, reading a part, the transaction) listens to.
 * It aborts when the client goes away before its answer, or when the client
 * sends nothing for `idleMs` while we are reading (a body shorter than its
 * Content-Length, a client that stopped mid-file). While the server itself
 * holds the body back (waiting for a slot), the client is not idle.
 */
import type { Request } from 'express';
import { HttpError } from '../errors.js';

/** Nobody reads this answer (nginx's 499): it only ends the request's work. */
function clientGone(): HttpError {
  return new HttpError(499, 'CLIENT_CLOSED_REQUEST', 'the client closed the connection before the upload was complete');
}

export class RequestLifecycle {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastData = Date.now();
  private lastBytes = -1;
  private readonly onClose = () => {
    // 'close' after a complete body is normal; before it, the client left.
    if (!this.req.complete) this.abort(clientGone());
  };

  constructor(
    private readonly req: Request,
    private readonly idleMs: number,
  ) {
    // Progress is read off the socket: a 'data' listener on the request would start it flowing before busboy is piped.
    req.on('close', this.onClose);
    req.on('error', this.onClose);
    this.timer = setInterval(() => this.checkIdle(), Math.max(100, Math.min(1000, idleMs / 4)));
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the request was given up, once it was. */
  get reason(): unknown {
    const reason: unknown = this.controller.signal.reason;
    return reason;
  }

  abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  private checkIdle(): void {
    if (this.req.complete) return;
    const bytes = this.req.socket.bytesRead;
    if (bytes !== this.lastBytes) {
      this.lastBytes = bytes;
      this.lastData = Date.now();
      return;
    }
    // Paused: we are holding the body back (no free slot), not the client.
    if (this.req.isPaused() || this.req.readableFlowing === null) {
      this.lastData = Date.now();
      return;
    }
    if (Date.now() - this.lastData >= this.idleMs) {
      this.abort(
        new HttpError(
          408,
          'UPLOAD_TIMEOUT',
          `the client sent nothing for ${Math.round(this.idleMs / 1000)} s in the middle of the upload; nothing of it was stored`,
        ),
      );
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    this.req.off('close', this.onClose);
    this.req.off('error', this.onClose);
  }
}
