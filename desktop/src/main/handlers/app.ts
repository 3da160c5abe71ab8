/** Settings, notifications and windows: what the app itself does for the renderer. */
import type { HandlerMap } from '../../shared/ipc-contract.js';
import type { MainContext } from './context.js';

export type AppHandlers = Pick<HandlerMap, 'settings:get' | 'settings:update' | 'notify' | 'window:open-metrics'>;

export function appHandlers(ctx: MainContext): AppHandlers {
  return {
    'settings:get': async () => ctx.deps.settings.get(),
    'settings:update': async (_sender, patch) => ctx.deps.settings.update(patch),
    notify: async (_sender, { title, body }) => {
      ctx.deps.notify(title, body);
      return {};
    },
    'window:open-metrics': async () => {
      ctx.deps.openMetricsWindow();
      return {};
    },
  };
}
