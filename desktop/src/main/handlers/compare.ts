/** The before/after view's pictures: of readableFiles only, like previews. */
import path from 'node:path';
import type { HandlerMap } from '../../shared/ipc-contract.js';
import { comparePictures } from '../services/compare-pictures.js';
import type { MainContext } from './context.js';

export type CompareHandlers = Pick<HandlerMap, 'compare:pictures'>;

export function compareHandlers(ctx: MainContext): CompareHandlers {
  return {
    'compare:pictures': async (_sender, { path: filePath, id }) => {
      if (filePath !== undefined) ctx.readableFiles.require([{ path: filePath }]);
      return comparePictures(
        { ...(filePath === undefined ? {} : { path: path.resolve(filePath) }), ...(id === undefined ? {} : { id }) },
        { client: ctx.client(), options: ctx.deps.settings.get().outputOptions, rules: ctx.rules },
      );
    },
  };
}
