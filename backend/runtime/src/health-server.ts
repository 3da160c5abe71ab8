/**
 * The runtime's own small HTTP server (HEALTH_PORT, default 8081) for the
 * Kubernetes probes and Prometheus:
 *   GET /healthz  200 while the poll loop is alive (503 when it has stalled)
 *   GET /readyz   200 when Redis is connected and a version of the function is loaded
 *   GET /metrics  Prometheus text format (runtime-metrics.ts)
 * Both health answers are JSON with the runtime's status.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { RuntimeMetrics } from './runtime-metrics.js';

/** The routes, for the manifests' probes (and their tests) to name. */
export const HEALTH_PATHS = { liveness: '/healthz', readiness: '/readyz', metrics: '/metrics' } as const;

export interface HealthState {
  /** Whether the poll loop is alive (it completed a poll recently). */
  live(): boolean;
  ready(): boolean;
  status(): Record<string, unknown>;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

function reply(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, state: HealthState, metrics: RuntimeMetrics) {
  const path = new URL(req.url ?? '/', 'http://runtime').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply(res, 405, 'application/json', JSON.stringify({ error: 'only GET', code: 'method_not_allowed' }));
  } else if (path === HEALTH_PATHS.liveness || path === HEALTH_PATHS.readiness) {
    const ok = path === HEALTH_PATHS.liveness ? state.live() : state.ready();
    reply(res, ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...state.status() }));
  } else if (path === HEALTH_PATHS.metrics) {
    reply(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
  } else {
    reply(res, 404, 'application/json', JSON.stringify({ error: `no route ${path}`, code: 'not_found' }));
  }
}

/** Listens on `port` (0: any free port); rejects when the port is taken. */
export async function startHealthServer(port: number, state: HealthState, metrics: RuntimeMetrics, log: Logger): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    route(req, res, state, metrics).catch((err: unknown) => {
      log.warn({ err }, 'health/metrics request failed');
      if (!res.headersSent) reply(res, 500, 'application/json', JSON.stringify({ error: 'internal error', code: 'internal' }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  log.info({ port: actual }, 'health and metrics server listening (/healthz, /readyz, /metrics)');
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
