/**
 * A real TCP proxy in front of a gateway, to give the store its bad days:
 * answers that come late, bytes that trickle, a store that goes silent
 * mid-answer, requests that take long to send. The gateway behind it is
 * the real one. (After desktop/test/support/tcp-proxy.ts, which fronts the
 * backend for the apps' tests.)
 */
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';

export interface StoreProxyOptions {
  targetPort: number;
  /** Every chunk from the gateway is held this long before it is passed on (a slow store). */
  answerDelayMs?: number;
  /** Gateway → client throughput limit, in bytes per second (a slow but live store). */
  answerBytesPerSecond?: number;
  /** Client → gateway throughput limit, in bytes per second (a slow link for uploads). */
  requestBytesPerSecond?: number;
}

export interface StoreProxy {
  port: number;
  endpoint: string;
  /** Bytes passed client → gateway so far. */
  readonly requestBytes: number;
  /** Resolves once at least `n` bytes have passed client → gateway. */
  requestBytesReach(n: number): Promise<void>;
  /** Stops passing the gateway's bytes on (the store goes silent; connections stay open). */
  silence(): void;
  /** Passes them on again. */
  resume(): void;
  close(): Promise<void>;
}

/** Passes `from`'s bytes to `to`, at most `rate` bytes a second and each chunk `delayMs` late, with backpressure. */
function forward(
  from: net.Socket,
  to: net.Socket,
  gate: { open: boolean; waiters: Set<() => void> },
  delayMs: number,
  rate: number | undefined,
  counted?: (n: number) => void,
): void {
  from.on('data', (chunk: Buffer) => {
    from.pause();
    void (async () => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      while (!gate.open) await new Promise<void>((r) => gate.waiters.add(r));
      // Throttled: slices of at most 50 ms' worth, each followed by its time at the rate.
      const slice = rate ? Math.max(1, Math.floor(rate / 20)) : chunk.length;
      for (let offset = 0; offset < chunk.length && !to.destroyed; offset += slice) {
        const piece = chunk.subarray(offset, offset + slice);
        counted?.(piece.length);
        const flushed = to.write(piece);
        if (rate) await new Promise((r) => setTimeout(r, (piece.length / rate) * 1000));
        else if (!flushed) await once(to, 'drain').catch(() => undefined);
      }
      if (!from.destroyed) from.resume();
    })();
  });
}

export async function startStoreProxy(options: StoreProxyOptions): Promise<StoreProxy> {
  const sockets = new Set<net.Socket>();
  const gate = { open: true, waiters: new Set<() => void>() };
  const events = new EventEmitter();
  let requestBytes = 0;

  const server = net.createServer((client) => {
    const upstream = net.connect(options.targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    forward(upstream, client, gate, options.answerDelayMs ?? 0, options.answerBytesPerSecond);
    forward(client, upstream, { open: true, waiters: new Set() }, 0, options.requestBytesPerSecond, (n) => {
      requestBytes += n;
      events.emit('request-bytes');
    });
  });
  const resume = (): void => {
    gate.open = true;
    for (const wake of gate.waiters) wake();
    gate.waiters.clear();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    get requestBytes() {
      return requestBytes;
    },
    async requestBytesReach(n) {
      while (requestBytes < n) await once(events, 'request-bytes');
    },
    silence() {
      gate.open = false;
    },
    resume,
    async close() {
      resume();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface DeafListener {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * A port whose connections never complete: a listener that never accepts,
 * its one-place queue already taken, so the kernel drops every further
 * connection attempt (a store behind a dead route or a firewall that drops).
 * Node always accepts, so the listener is Python's.
 */
export async function startDeafListener(): Promise<DeafListener> {
  const python = spawn(
    'python3',
    ['-c', "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()"],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(python.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  // A listen(0) queue holds one connection: this one takes it.
  const filler = net.connect(port, '127.0.0.1');
  await once(filler, 'connect');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      filler.destroy();
      const exited = once(python, 'exit');
      python.stdin.end(); // its stdin closes: it exits
      await exited;
    },
  };
}
