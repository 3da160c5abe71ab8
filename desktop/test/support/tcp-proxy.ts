/**
 * A real TCP proxy in front of the backend, to give the network its bad
 * days: refuse the first connections (reset), throttle bytes, cut every
 * open connection. The backend behind it is the real one.
 */
import net from 'node:net';

export interface ProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Reset this many incoming connections before forwarding any. */
  resetFirst?: number;
  /** Client → backend throughput limit (bytes per second). */
  uploadBytesPerSecond?: number;
}

export interface TcpProxy {
  port: number;
  url: string;
  connections: number;
  resets: number;
  /** Destroys every open connection (a network outage, as the client sees it). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let toReset = options.resetFirst ?? 0;
  const stats = { connections: 0, resets: 0 };

  const server = net.createServer((client) => {
    stats.connections++;
    if (toReset > 0) {
      toReset--;
      stats.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(options.targetPort, options.targetHost ?? '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.pipe(client);
    const rate = options.uploadBytesPerSecond;
    if (!rate) {
      client.pipe(upstream);
      return;
    }
    // Throttle: forward at most rate/20 bytes every 50 ms.
    client.on('data', (chunk: Buffer) => {
      client.pause();
      const slice = Math.max(1, Math.floor(rate / 20));
      let offset = 0;
      const pump = (): void => {
        if (upstream.destroyed) return;
        upstream.write(chunk.subarray(offset, offset + slice));
        offset += slice;
        if (offset < chunk.length) setTimeout(pump, 50);
        else client.resume();
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return stats.connections;
    },
    get resets() {
      return stats.resets;
    },
    cutAll() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
