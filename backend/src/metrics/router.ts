/**
 * HTTP routes for the cluster's metrics, mounted by the server under /api/v1:
 * - GET /metrics         every live pod's latest snapshot and derived figures;
 * - GET /metrics/stream  Server-Sent Events, pushed as snapshots arrive.
 * Bodies are written with stringifyWithFloats, so float fields keep their
 * decimal point for clients in Python too.
 */
import { Router, type Request, type Response } from 'express';
import { openSse } from '../http/sse.js';
import { stringifyWithFloats } from './float-json.js';
import type { MetricsEvent, MetricsHub } from './hub.js';
import type { PodMetrics } from './pod-view.js';

export interface MetricsRouterOptions {
  /** Interval between SSE comment lines that keep proxies from closing an idle stream. */
  heartbeatMs?: number;
  /**
   * A client that stops reading is disconnected once this much is queued for
   * it, rather than letting its backlog grow without bound; EventSource
   * reconnects and receives the current state.
   */
  maxBufferedBytes?: number;
}

/** The body of GET /api/v1/metrics. */
export interface MetricsResponse {
  pods: PodMetrics[];
  periodSeconds: number;
  source: 'redis' | 'in-process';
  /** The pod that answered. */
  pod: string;
  /** Whether that pod is connected to Redis right now; null in in-process mode. */
  redisConnected: boolean | null;
}

function sendError(res: Response, status: number, error: string, code: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).json({ error, code });
}

function eventPayload(metrics: PodMetrics): PodMetrics {
  return { pod: metrics.pod, snapshot: metrics.snapshot, derived: metrics.derived, receivedAt: metrics.receivedAt };
}

export function metricsRouter(hub: MetricsHub, options: MetricsRouterOptions = {}): Router {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const router = Router();

  router.get('/metrics', (_req: Request, res: Response) => {
    try {
      const status = hub.status();
      const body: MetricsResponse = {
        pods: hub.latest(),
        periodSeconds: status.periodSeconds,
        source: status.source,
        pod: status.pod,
        redisConnected: status.redisConnected,
      };
      res.status(200).type('application/json').set('Cache-Control', 'no-store').send(stringifyWithFloats(body));
    } catch (err) {
      sendError(res, 500, `metrics unavailable: ${(err as Error).message}`, 'METRICS_UNAVAILABLE');
    }
  });

  router.get('/metrics/stream', (req: Request, res: Response) => {
    const stream = openSse(req, res, {
      heartbeatMs,
      retryMs: Math.min(5000, hub.periodSeconds * 1000),
      maxBufferedBytes,
      serialize: stringifyWithFloats,
    });
    // Subscribe before sending the current state: nothing can fall in between.
    const unsubscribe = hub.subscribe((event: MetricsEvent) => {
      if (event.type === 'expired') stream.send('expired', { pod: event.pod });
      else stream.send(event.type, eventPayload(event.metrics));
    });
    stream.onClose(unsubscribe);
    for (const metrics of hub.latest()) stream.send('snapshot', eventPayload(metrics));
  });

  return router;
}
