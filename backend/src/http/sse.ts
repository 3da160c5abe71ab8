/** Server-Sent Events plumbing shared by the status and metrics streams. */
import type { Request, Response } from 'express';

export interface SseStream {
  send(event: string, data: unknown, id?: string): void;
  close(): void;
  onClose(fn: () => void): void;
}

const HEARTBEAT_MS = 15_000;

export function openSse(req: Request, res: Response): SseStream {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // Proxies (nginx ingress) must not buffer the stream.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  // Clients reconnect after this many ms if the stream drops.
  res.write('retry: 2000\n\n');
  const closers: (() => void)[] = [];
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  let closed = false;
  const cleanup = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const fn of closers) fn();
  };
  req.on('close', cleanup);
  res.on('close', cleanup);
  return {
    send(event, data, id) {
      if (closed) return;
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
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
