/** The Express application: routes in the order auth and matching need. */
import express, { type RequestHandler, type Router } from 'express';
import { bearerAuth } from './auth.js';
import { browserGuard, type HostRules } from './browser-guard.js';
import type { AppContext } from './context.js';
import { errorHandler, notFound } from './errors.js';
import { openApiDocument } from './openapi.js';
import { routerOf } from './api-route.js';
import { BATCH_ROUTES } from './routes/batches.js';
import { healthRouter } from './routes/health.js';
import { IMAGE_ROUTES } from './routes/images.js';
import { legacyRouter } from './routes/legacy.js';
import { wantsHtml, webAssetPaths, webRouter } from './web.js';

export interface AppExtras {
  apiToken?: string | undefined;
  /** The Host names served (DNS-rebinding guard); see browser-guard.ts. */
  hostRules: HostRules;
  webRoot: string;
  /** Mounted under /api/v1 (metrics JSON and SSE). */
  metricsRouter?: Router;
  /** GET /metrics, Prometheus text format. */
  prometheus?: RequestHandler;
  /** Check every JSON answer of /api/v1 against its declared schema (VALIDATE_RESPONSES; the tests turn it on). */
  validateResponses?: boolean;
}

/** Everything served under /api/v1 (the OpenAPI document lists exactly these routes; a test holds them equal). */
export function apiRouters(ctx: AppContext, extras: Pick<AppExtras, 'metricsRouter' | 'validateResponses'>): Router[] {
  const options = { validateResponses: extras.validateResponses ?? false, logger: ctx.logger };
  return [routerOf([...IMAGE_ROUTES, ...BATCH_ROUTES], ctx, options), ...(extras.metricsRouter ? [extras.metricsRouter] : [])];
}

export function createApp(ctx: AppContext, extras: AppExtras): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  app.use(healthRouter(ctx));
  app.use(browserGuard(extras.hostRules));
  // The web UI's files hold no data, nor does the dashboard *page* (its
  // figures come from the API): a browser can load them, then the page asks
  // for the token.
  const publicFiles = webAssetPaths(extras.webRoot);
  const isPublicPage = (req: express.Request) =>
    req.method === 'GET' && (publicFiles.has(req.path) || (req.path === '/dashboard' && publicFiles.has('/metrics.html') && wantsHtml(req)));
  app.use(bearerAuth(extras.apiToken, isPublicPage));
  if (extras.prometheus) app.get('/metrics', extras.prometheus);
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  for (const router of apiRouters(ctx, extras)) app.use('/api/v1', router);
  app.use(legacyRouter(ctx, extras.webRoot));
  app.use(webRouter(extras.webRoot));
  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
