/** Uploads (of readableFiles only, through the window's own Uploader) and the batch's images on the backend. */
import { goneAmong } from '../../shared/api-policy/index.js';
import type { HandlerMap } from '../../shared/ipc-contract.js';
import type { MainContext } from './context.js';

export type UploadHandlers = Pick<HandlerMap, 'upload:start' | 'upload:cancel' | 'images:list' | 'images:gone' | 'images:retry' | 'images:delete'>;

export function uploadHandlers(ctx: MainContext): UploadHandlers {
  return {
    'upload:start': async (sender, { batchId, files }) => {
      ctx.readableFiles.require(files);
      const { uploader } = ctx.sessions.of(sender);
      // The batch's options as remembered by the panel: every file of the upload gets the same.
      return uploader.upload(batchId, files, {
        outputOptions: ctx.deps.settings.get().outputOptions,
        onProgress: (progress) => ctx.send(sender, 'upload:progress', progress),
        onResult: (outcome) => ctx.send(sender, 'upload:result', outcome),
      });
    },
    'upload:cancel': async (sender) => ({ cancelled: ctx.sessions.of(sender).uploader.cancel() }),
    'images:list': async (_sender, { batchId }) => ctx.client().listBatch(batchId),
    'images:gone': async (_sender, { ids }) => {
      const client = ctx.client();
      return goneAmong(ids, (id) => client.imageExists(id));
    },
    'images:retry': async (_sender, { id }) => {
      await ctx.client().retry(id);
      return { id };
    },
    'images:delete': async (_sender, { id }) => {
      await ctx.client().remove(id);
      return { id };
    },
  };
}
