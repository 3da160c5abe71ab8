/**
 * Batches over time: the last session remembered and restored after a
 * restart (the files still on disk, with the same size, linked again and
 * readable again), the backend's list of batches, deleting one, and a
 * small picture of a result for a card whose file this computer does not
 * have.
 *
 * The session may remember a path only if a scan returned it in this
 * process (readableFiles): a page cannot make the next run read a file the
 * person never chose. Paths it may not remember are kept as names only
 * (the card then asks for the file to be added again).
 */
import { promises as fs } from 'node:fs';
import type { HandlerMap } from '../../shared/ipc-contract.js';
import type { SavedBatch, SavedFile } from '../../shared/models.js';
import { resultPicture } from '../services/previewer.js';
import type { MainContext } from './context.js';

export type BatchHandlers = Pick<HandlerMap, 'session:save' | 'session:restore' | 'batches:list' | 'batches:delete' | 'images:picture'>;

/** Still there, a file, with the size it had: the same photo, as far as a restart can tell. */
async function stillThere(file: SavedFile): Promise<boolean> {
  if (!file.path) return false;
  const stat = await fs.stat(file.path).catch(() => null);
  return stat !== null && stat.isFile() && stat.size === file.size;
}

export function batchHandlers(ctx: MainContext): BatchHandlers {
  return {
    'session:save': async (_sender, { batch }) => {
      const files = batch.files.map((file): SavedFile => {
        if (!file.path || ctx.readableFiles.has(file.path)) return file;
        const { path: _refused, ...named } = file;
        return named;
      });
      await ctx.deps.session.save({ batchId: batch.batchId, files });
      return { files: files.length, linked: files.filter((f) => f.path).length };
    },
    'session:restore': async (): Promise<SavedBatch | null> => {
      const saved = await ctx.deps.session.load();
      if (!saved) return null;
      const files = await Promise.all(
        saved.files.map(async (file) => {
          const present = await stillThere(file);
          if (present && file.path) ctx.readableFiles.readmit(file.path);
          return { ...file, present };
        }),
      );
      return { batchId: saved.batchId, files };
    },
    'batches:list': async (_sender, page) => ctx.client().batches(page),
    'batches:delete': async (_sender, { batchId }) => ctx.client().deleteBatch(batchId),
    'images:picture': async (_sender, { id }) => ({ dataUrl: await resultPicture(await ctx.client().processed(id)) }),
  };
}
