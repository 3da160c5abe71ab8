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
import type { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { apiErrorSchema, metricsOverviewSchema } from '../../contract/api.js';
import { HISTORY_SECONDS, stringifyWithFloats, type MetricsEvent, type MetricsHub, type PodMetrics } from '../../metrics/index.js';
import { defineRoute, routerOf, sendSerializedJson, type AnyRoute, type MountOptions } from '../api-route.js';
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

const SPAN_RULE = `span must be a whole number of seconds from 0 to ${HISTORY_SECONDS}`;

/** `?span=` as whole seconds from 0 to HISTORY_SECONDS (default DEFAULT_SPAN_SECONDS); anything else is refused, not clamped. */
export const spanQuerySchema = z.object({
  span: z
    .string({ error: (issue) => `${SPAN_RULE}, got ${JSON.stringify(issue.input)}` })
    .refine((text) => /^\d{1,5}$/.test(text) && Number(text) <= HISTORY_SECONDS, { error: (issue) => `${SPAN_RULE}, got ${JSON.stringify(issue.input)}` })
    .transform(Number)
    .optional()
    .transform((seconds) => seconds ?? DEFAULT_SPAN_SECONDS)
    .describe(`seconds of history, 0 to ${HISTORY_SECONDS} (default ${DEFAULT_SPAN_SECONDS})`),
});

/** A body already serialized (sent as is). */
class SerializedJson {
  constructor(readonly text: string) {}
}

function eventPayload(metrics: PodMetrics): PodMetrics {
  return { pod: metrics.pod, snapshot: metrics.snapshot, derived: metrics.derived, receivedAt: metrics.receivedAt };
}

interface MetricsDeps {
  hub: MetricsHub;
  heartbeatMs: number;
  maxBufferedBytes: number;
  logger: Logger | undefined;
}

export const METRICS_ROUTES: readonly AnyRoute<MetricsDeps>[] = [
  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Cluster metrics: live pods and their history over ?span= seconds',
    query: spanQuerySchema,
    invalidQueryCode: 'INVALID_SPAN',
    responses: { 200: metricsOverviewSchema, 400: apiErrorSchema },
    handle: ({ hub, logger }, _req, res, { query }) => {
      let overview: unknown;
      try {
        overview = hub.overview(query.span);
      } catch (err) {
        logger?.error({ err }, 'metrics: answering GET /api/v1/metrics failed');
        res.status(500).json({ error: `metrics unavailable: ${err instanceof Error ? err.message : 'unknown error'}`, code: 'METRICS_UNAVAILABLE' });
        return;
      }
      res.set('Cache-Control', 'no-store');
      sendSerializedJson(res, overview, stringifyWithFloats);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/metrics/stream',
    summary: 'Cluster metrics as Server-Sent Events (first event: history)',
    query: spanQuerySchema,
    invalidQueryCode: 'INVALID_SPAN',
    responses: { 200: 'text/event-stream', 400: apiErrorSchema },
    handle: ({ hub, heartbeatMs, maxBufferedBytes }, req, res, { query }) => {
      // The history may be megabytes (an hour of several pods): the backlog a
      // slow reader is allowed grows by its size, or it would be cut off at once.
      const history = new SerializedJson(stringifyWithFloats(hub.history(query.span)));
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
    },
  }),
];

export function metricsRouter(hub: MetricsHub, options: MetricsRouterOptions = {}, mount: MountOptions = {}): Router {
  const deps: MetricsDeps = {
    hub,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    logger: options.logger,
  };
  return routerOf(METRICS_ROUTES, deps, { logger: options.logger, ...mount });
}
