/** Results on this computer: downloads and local resizes into the output folder, choosing and opening it. */
import path from 'node:path';
import type { HandlerMap, IpcSender } from '../../shared/ipc-contract.js';
import type { WriteSummary } from '../../shared/models.js';
import { AppError } from '../services/app-error.js';
import { downloadImages } from '../services/downloader.js';
import { resizeLocally } from '../services/local-resizer.js';
import { originalTimes } from '../services/original-dates.js';
import type { MainContext } from './context.js';

export type ResultHandlers = Pick<HandlerMap, 'download:images' | 'resize:local' | 'folder:choose' | 'folder:open'>;

const noFolder = (): WriteSummary => ({ folder: null, written: 0, failed: 0, results: [] });

export function resultHandlers(ctx: MainContext): ResultHandlers {
  const { settings, dialogs } = ctx.deps;

  /** Asks for a folder and remembers it; null when the person cancels. */
  const chooseFolder = async (sender: IpcSender): Promise<string | null> => {
    const chosen = await dialogs.chooseFolder(sender);
    if (!chosen) return null;
    await settings.update({ outputFolder: path.resolve(chosen) });
    return settings.get().outputFolder;
  };
  /** The output folder; asks for one when none is set. */
  const outputFolder = async (sender: IpcSender): Promise<string | null> => settings.get().outputFolder || chooseFolder(sender);

  return {
    'download:images': async (sender, { items }) => {
      const folder = await outputFolder(sender);
      if (!folder) return noFolder();
      return downloadImages(ctx.client(), items, {
        folder,
        options: settings.get().outputOptions,
        // A card of a file on this computer is keyed by its path (electron-platform): its result gets the file's dates.
        ...(settings.get().keepDates ? { timesOf: async (item) => (ctx.readableFiles.has(item.key) ? originalTimes(item.key) : undefined) } : {}),
        onResult: (outcome) => ctx.send(sender, 'download:progress', outcome),
      });
    },
    'resize:local': async (sender, { files, batchId }) => {
      ctx.readableFiles.require(files);
      const folder = await outputFolder(sender);
      if (!folder) return noFolder();
      return resizeLocally(files, {
        folder,
        options: settings.get().outputOptions,
        rules: ctx.rules,
        keepDates: settings.get().keepDates,
        ...(batchId === undefined ? {} : { batch: batchId }),
        onResult: (outcome) => ctx.send(sender, 'resize:progress', outcome),
      });
    },
    'folder:choose': async (sender) => ({ folder: await chooseFolder(sender) }),
    'folder:open': async () => {
      const folder = settings.get().outputFolder;
      if (!folder) throw new AppError('NO_OUTPUT_FOLDER', 'no output folder has been chosen yet');
      await ctx.deps.openFolder(folder);
      return { folder };
    },
  };
}
