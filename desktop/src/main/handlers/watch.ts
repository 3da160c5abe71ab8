/** The watched folder: chosen only through the folder dialog (like the output folder), or stopped. */
import path from 'node:path';
import type { HandlerMap } from '../../shared/ipc-contract.js';
import type { MainContext } from './context.js';

export type WatchHandlers = Pick<HandlerMap, 'watch:folder'>;

export function watchHandlers(ctx: MainContext): WatchHandlers {
  const { settings, dialogs } = ctx.deps;
  return {
    'watch:folder': async (sender, { action }) => {
      if (action === 'stop') await settings.update({ watchFolder: '' });
      else {
        const chosen = await dialogs.chooseFolder(sender);
        if (chosen) await settings.update({ watchFolder: path.resolve(chosen) });
      }
      return { folder: settings.get().watchFolder };
    },
  };
}
