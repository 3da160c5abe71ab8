/** Liveness and readiness for the kubelet (always open, even with API_TOKEN). */
import { Router } from 'express';
import type { AppContext } from '../context.js';

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  // Alive as long as the event loop answers.
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', pod: ctx.podName });
  });
  // Ready: it can take uploads now — not starting or draining, the database
  // answers, and uploads are not left waiting for a slot (the Service then
  // routes new clients to the other pods).
  r.get('/readyz', async (_req, res) => {
    if (!ctx.isReady()) {
      res.status(503).json({ error: ctx.dispatcher.isDraining ? 'draining' : 'starting', code: 'NOT_READY' });
      return;
    }
    const reason = await ctx.notReadyReason();
    if (reason) {
      res.status(503).json({ error: reason, code: 'NOT_READY' });
      return;
    }
    res.json({ status: 'ready', pod: ctx.podName, listening: ctx.notifications.listening });
  });
  return r;
}
