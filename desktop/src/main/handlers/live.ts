/** The live streams each window watches (a batch's events, the metrics), the statistics and the backend check. */
import type { HandlerMap } from '../../shared/ipc-contract.js';
import type { MetricsOverview } from '../../shared/models.js';
import { AppError, errorInfo } from '../services/app-error.js';
import { createEventsClient } from '../services/events-client.js';
import { createMetricsClient } from '../services/metrics-client.js';
import { OFFLINE_CONFIG, parseServerConfig } from '../../shared/server-config.js';
import type { MainContext } from './context.js';

export type LiveHandlers = Pick<HandlerMap, 'events:watch' | 'metrics:watch' | 'metrics:unwatch' | 'stats:get' | 'backend:check'>;

function unreachableOverview(): MetricsOverview {
  return { pods: [], periodSeconds: 5, source: 'unreachable', redisConnected: null };
}

export function liveHandlers(ctx: MainContext): LiveHandlers {
  return {
    'events:watch': async (sender, { batchId }) => {
      const state = ctx.sessions.of(sender);
      state.events?.stop();
      state.events = createEventsClient({
        client: ctx.client,
        batchId,
        onStatus: (event) => ctx.send(sender, 'events:status', event),
        onDeleted: (event) => ctx.send(sender, 'events:deleted', event),
        onState: (connection) => ctx.send(sender, 'events:connection', connection),
        ...ctx.deps.reconnect,
      });
      state.events.start();
      return { batchId };
    },
    'metrics:watch': async (sender) => {
      const state = ctx.sessions.of(sender);
      state.metrics?.stop();
      state.metrics = createMetricsClient({
        client: ctx.client,
        onUpdate: (update) => ctx.send(sender, 'metrics:update', update),
        onState: (connection) => ctx.send(sender, 'metrics:connection', connection),
        ...ctx.deps.reconnect,
      });
      state.metrics.start();
      try {
        return await ctx.client().metrics();
      } catch (err) {
        // The stream keeps trying; the window shows the backend as unreachable meanwhile.
        if (err instanceof AppError && err.code === 'OFFLINE') return unreachableOverview();
        throw err;
      }
    },
    'metrics:unwatch': async (sender) => {
      const state = ctx.sessions.existing(sender);
      state?.metrics?.stop();
      if (state) delete state.metrics;
      return {};
    },
    'stats:get': async () => ctx.client().stats(),
    'backend:check': async () => {
      const client = ctx.client();
      try {
        await client.health();
      } catch (err) {
        return { reachable: false, url: client.baseUrl, error: errorInfo(err).message, config: OFFLINE_CONFIG };
      }
      // A server from before the options (no /api/v1/config) makes the defaults: the offline config says so.
      const config = parseServerConfig(await client.config().catch(() => null)) ?? OFFLINE_CONFIG;
      ctx.serverConfig = config;
      return { reachable: true, url: client.baseUrl, config };
    },
  };
}
