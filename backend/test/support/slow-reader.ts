/**
 * Slow download clients on raw sockets (what fetch() cannot be): a small
 * receive buffer, reading a few KB at a time with pauses, so the server's
 * writes back up to it. And the memory of a process as Linux reports it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

export interface SlowRead {
  socket: net.Socket;
  /** Status code and lower-cased headers, once they arrived. */
  head: Promise<{ status: number; headers: Record<string, string> }>;
  /** Body bytes received so far. */
  readonly bodyBytes: number;
  /** The body as received (kept only with `keep`). */
  body(): Buffer;
  /** Resolves once `n` body bytes have arrived. */
  reached(n: number): Promise<void>;
  /** Resolves when the connection closed: whether it ended cleanly and how much body came. */
  closed: Promise<{ bodyBytes: number; error?: string }>;
  /** Stop reading for now / read again. */
  hold(): void;
  release(): void;
  close(): void;
}

export interface SlowReadOptions {
  /** Bytes read per tick. */
  bytesPerTick: number;
  tickMs: number;
  /** Keep the body (for checking it); off when only counting. */
  keep?: boolean;
  method?: string;
  headers?: Record<string, string>;
}

/** A GET on a raw socket that reads its answer slowly (a token bucket of bytesPerTick every tickMs). */
export function slowGet(url: string, path: string, options: SlowReadOptions): SlowRead {
  const u = new URL(url);
  // A small user-space buffer: Node stops reading from the kernel once it holds this much.
  const socket = net.connect({ port: Number(u.port), host: u.hostname, readableHighWaterMark: 8 * 1024 } as net.NetConnectOpts);
  const extra = Object.entries(options.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`${options.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n${extra}\r\n`);
  let headText = '';
  let headDone = false;
  let bodyBytes = 0;
  const kept: Buffer[] = [];
  let budget = options.bytesPerTick;
  let held = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const { promise: head, resolve: resolveHead, reject: rejectHead } = Promise.withResolvers<{ status: number; headers: Record<string, string> }>();
  head.catch(() => undefined);
  const onBody = (chunk: Buffer) => {
    bodyBytes += chunk.length;
    if (options.keep) kept.push(chunk);
    for (const w of [...waiters]) {
      if (bodyBytes >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  socket.on('data', (chunk: Buffer) => {
    budget -= chunk.length;
    if (budget <= 0) socket.pause();
    if (headDone) {
      onBody(chunk);
      return;
    }
    headText += chunk.toString('latin1');
    const end = headText.indexOf('\r\n\r\n');
    if (end < 0) return;
    headDone = true;
    const lines = headText.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    resolveHead({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0), headers });
    const rest = Buffer.from(headText.slice(end + 4), 'latin1');
    if (rest.length) onBody(rest);
  });
  const timer = setInterval(() => {
    budget = Math.min(budget + options.bytesPerTick, options.bytesPerTick);
    if (!held && budget > 0 && socket.isPaused()) socket.resume();
  }, options.tickMs);
  const closed = new Promise<{ bodyBytes: number; error?: string }>((resolve) => {
    let error: string | undefined;
    socket.on('error', (err) => {
      error = err.message;
    });
    socket.on('close', () => {
      clearInterval(timer);
      if (!headDone) rejectHead(new Error(`closed before the headers: ${error ?? ''}`));
      for (const w of waiters.splice(0)) w.resolve();
      resolve({ bodyBytes, ...(error ? { error } : {}) });
    });
  });
  return {
    socket,
    head,
    get bodyBytes() {
      return bodyBytes;
    },
    body: () => Buffer.concat(kept),
    reached: (n) => (bodyBytes >= n || socket.destroyed ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    closed,
    hold() {
      held = true;
      socket.pause();
    },
    release() {
      held = false;
      socket.resume();
    },
    close() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

function statusField(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
}

/** Resident memory of a process now, MiB. */
export const rssMb = (pid: number) => statusField(pid, 'VmRSS');
/** Peak resident memory since the start or the last resetPeakRss, MiB. */
export const peakRssMb = (pid: number) => statusField(pid, 'VmHWM');
/** Starts the peak over from the current RSS (Linux: `5` into /proc/<pid>/clear_refs). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
