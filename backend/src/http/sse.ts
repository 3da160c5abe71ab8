/** Server-Sent Events plumbing shared by the status and the metrics streams. */
import type { Request, Response } from 'express';

export interface SseStream {
  send(event: string, data: unknown, id?: string): void;
  close(): void;
  onClose(fn: () => void): void;
}

export interface SseOptions {
  /** Comment lines keep proxies and load balancers from closing an idle stream. */
  heartbeatMs?: number;
  /** How long clients wait before reconnecting after the stream drops. */
  retryMs?: number;
  /** A client this far behind is cut off (it reconnects and gets the current state) rather than buffered forever. */
  maxBufferedBytes?: number;
  /** Event data encoder (the metrics stream keeps floats as floats). */
  serialize?: (data: unknown) => string;
}

export function openSse(req: Request, res: Response, options: SseOptions = {}): SseStream {
  const { heartbeatMs = 15_000, retryMs = 2000, maxBufferedBytes = 1024 * 1024, serialize = JSON.stringify } = options;
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // Proxies (nginx ingress) must not buffer the stream.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  // Events are small and latency matters more than packet count.
  req.socket.setNoDelay(true);
  const closers: (() => void)[] = [];
  let closed = false;
  const cleanup = (destroy = false) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const fn of closers) fn();
    if (destroy) res.destroy();
  };
  const write = (chunk: string) => {
    if (closed) return;
    res.write(chunk);
    if (res.writableLength > maxBufferedBytes) cleanup(true);
  };
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
  heartbeat.unref();
  req.on('close', () => cleanup());
  res.on('close', () => cleanup());
  res.on('error', () => cleanup(true));
  write(`retry: ${retryMs}\n\n`);
  return {
    send(event, data, id) {
      write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${serialize(data)}\n\n`);
    },
    close() {
      cleanup();
      res.end();
    },
    onClose(fn) {
      closers.push(fn);
    },
  };
}
