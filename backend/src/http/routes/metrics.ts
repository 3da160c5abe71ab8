/**
 * HTTP routes for the cluster's metrics, mounted by the server under /api/v1:
 * - GET /metrics?span=S         every live pod's latest snapshot and derived
 *                               figures, and every pod's history over the last
 *                               S seconds (default 300, at most 3600), stopped
 *                               pods marked gone;
 * - GET /metrics/stream?span=S  Server-Sent Events: first `history` (the same
 *                               history), then `health` and the current state,
 *                               then new snapshots, derived figures, gone pods
 *                               (`expired`) and health changes as they come.
 * Both carry `health` (contract/metrics.ts): Redis reachable or not, stale
 * pods, the function's unresolved errors.
 * Bodies are written with stringifyWithFloats, so float fields keep their
 * decimal point for clients in Python too.
 */
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import {
  HISTORY_SECONDS,
  stringifyWithFloats,
  type MetricsEvent,
  type MetricsHub,
  type PodMetrics,
} from '../../metrics/index.js';
import { openSse } from '../sse.js';

export interface MetricsRouterOptions {
  /** Interval between SSE comment lines that keep proxies from closing an idle stream. */
  heartbeatMs?: number;
  /**
   * A client that stops reading is disconnected once this much is queued for
   * it, rather than letting its backlog grow without bound; EventSource
   * reconnects and receives the current state.
   */
  maxBufferedBytes?: number;
  logger?: Logger;
}

/** The span when none is asked for: the metrics window's default view. */
export const DEFAULT_SPAN_SECONDS = 300;

type SpanResult = { ok: true; seconds: number } | { ok: false; error: string };

/** `?span=` as whole seconds from 0 to HISTORY_SECONDS; anything else is refused, not clamped. */
export function parseSpan(raw: unknown): SpanResult {
  if (raw === undefined) return { ok: true, seconds: DEFAULT_SPAN_SECONDS };
  const text = typeof raw === 'string' ? raw : '';
  const seconds = Number(text);
  if (!/^\d{1,5}$/.test(text) || seconds > HISTORY_SECONDS) {
    return { ok: false, error: `span must be a whole number of seconds from 0 to ${HISTORY_SECONDS}, got ${JSON.stringify(raw)}` };
  }
  return { ok: true, seconds };
}

/** A body already serialized (sent as is). */
class SerializedJson {
  constructor(readonly text: string) {}
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

  router.get('/metrics', (req: Request, res: Response) => {
    const span = parseSpan(req.query.span);
    if (!span.ok) {
      sendError(res, 400, span.error, 'INVALID_SPAN');
      return;
    }
    try {
      res.status(200).type('application/json').set('Cache-Control', 'no-store').send(stringifyWithFloats(hub.overview(span.seconds)));
    } catch (err) {
      options.logger?.error({ err }, 'metrics: answering GET /api/v1/metrics failed');
      sendError(res, 500, `metrics unavailable: ${err instanceof Error ? err.message : 'unknown error'}`, 'METRICS_UNAVAILABLE');
    }
  });

  router.get('/metrics/stream', (req: Request, res: Response) => {
    const span = parseSpan(req.query.span);
    if (!span.ok) {
      sendError(res, 400, span.error, 'INVALID_SPAN');
      return;
    }
    // The history may be megabytes (an hour of several pods): the backlog a
    // slow reader is allowed grows by its size, or it would be cut off at once.
    const history = new SerializedJson(stringifyWithFloats(hub.history(span.seconds)));
    const stream = openSse(req, res, {
      heartbeatMs,
      retryMs: Math.min(5000, hub.periodSeconds * 1000),
      maxBufferedBytes: maxBufferedBytes + Buffer.byteLength(history.text),
      serialize: (data) => (data instanceof SerializedJson ? data.text : stringifyWithFloats(data)),
    });
    // Subscribe before sending the current state: nothing can fall in between.
    const unsubscribe = hub.subscribe((event: MetricsEvent) => {
      if (event.type === 'expired') stream.send('expired', { pod: event.pod });
      else if (event.type === 'health') stream.send('health', event.health);
      else stream.send(event.type, eventPayload(event.metrics));
    });
    stream.onClose(unsubscribe);
    stream.send('history', history);
    stream.send('health', hub.health());
    for (const metrics of hub.latest()) stream.send('snapshot', eventPayload(metrics));
  });

  return router;
}
