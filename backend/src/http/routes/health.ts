/** Liveness and readiness for the kubelet (always open, even with API_TOKEN). */
import { Router } from 'express';
import type { AppContext } from '../context.js';

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  // Alive as long as the event loop answers.
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', pod: ctx.podName });
  });
  // Ready: the database answers and we are not draining (the Service then stops routing here).
  r.get('/readyz', async (_req, res) => {
    if (!ctx.isReady()) {
      res.status(503).json({ error: ctx.dispatcher.isDraining ? 'draining' : 'starting', code: 'NOT_READY' });
      return;
    }
    try {
      await ctx.repo.ping();
      res.json({ status: 'ready', pod: ctx.podName, listening: ctx.notifications.listening });
    } catch (err) {
      res.status(503).json({ error: `database unreachable: ${err instanceof Error ? err.message : String(err)}`, code: 'DB_UNAVAILABLE' });
    }
  });
  return r;
}
