/**
 * A real HTTP proxy in front of the real backend, for the faults only an
 * HTTP-level middlebox can give: it records every request's method, path and
 * headers, and for uploads (POST /api/v1/images) it can answer 503 itself
 * (after reading the body, as an overloaded gateway would), read the whole
 * body and never answer (a stuck backend), or pass it on and keep the
 * backend's answer from the app (the backend stored the file, the app never
 * heard). Everything else, event streams
 * included, is forwarded as it comes. It can also go down as a whole: every
 * open connection cut and new ones dropped, until it comes back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type UploadFault = 'forward' | 'unavailable' | 'stall' | 'hold-answer';

export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  fault: UploadFault;
}

export interface HttpProxy {
  url: string;
  requests: SeenRequest[];
  /** The uploads seen (POST /api/v1/images), in order. */
  uploads(): SeenRequest[];
  /** The Idempotency-Key header of each upload seen from the `from`-th on (what a retry sent). */
  uploadKeys(from?: number): SeenRequest['headers']['idempotency-key'][];
  /** Decides what happens to the next upload (default: forward). */
  setUploadFault(decide: (upload: SeenRequest, index: number) => UploadFault): void;
  /** Down: cuts every open connection (event streams too) and drops new ones until set up again. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startHttpProxy(target: string): Promise<HttpProxy> {
  const targetUrl = new URL(target);
  const requests: SeenRequest[] = [];
  let decide: (upload: SeenRequest, index: number) => UploadFault = () => 'forward';
  let uploadCount = 0;
  const stalled = new Set<http.ServerResponse>();
  let down = false;

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, holdAnswer = false): void => {
    const upstream = http.request({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (holdAnswer) {
        // Read and dropped: the app waits for an answer that never comes.
        answer.resume();
        stalled.add(res);
        res.on('close', () => stalled.delete(res));
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, fault: 'forward' };
    requests.push(seen);
    const isUpload = seen.method === 'POST' && seen.path.startsWith('/api/v1/images');
    if (isUpload) seen.fault = decide(seen, uploadCount++);
    if (seen.fault === 'forward' || seen.fault === 'hold-answer') {
      forward(req, res, seen.fault === 'hold-answer');
      return;
    }
    req.resume();
    req.on('end', () => {
      if (seen.fault === 'stall') {
        stalled.add(res);
        res.on('close', () => stalled.delete(res));
        return;
      }
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'the gateway is overloaded', code: 'UNAVAILABLE' }));
    });
  });
  server.on('connection', (socket) => {
    if (down) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const uploads = () => requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/v1/images'));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    uploads,
    uploadKeys: (from = 0) =>
      uploads()
        .slice(from)
        .map((r) => r.headers['idempotency-key']),
    setUploadFault(next) {
      decide = next;
    },
    setDown(next) {
      down = next;
      if (down) server.closeAllConnections();
    },
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
