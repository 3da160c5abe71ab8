/** Adding files: the open dialog, scans of dropped paths (through scanGrants), previews (of readableFiles only). */
import path from 'node:path';
import type { HandlerMap, IpcSender, ListenerMap } from '../../shared/ipc-contract.js';
import { scanPaths } from '../services/file-scanner.js';
import type { MainContext } from './context.js';

export type FileHandlers = Pick<HandlerMap, 'files:pick' | 'files:scan' | 'preview:make'>;

export function fileHandlers(ctx: MainContext): { handlers: FileHandlers; listeners: ListenerMap } {
  const tracked = new Set<number>();

  /** Lets this sender scan `paths` once (a drop its preload saw, or its own dialog's answer). */
  const grantScan = (sender: IpcSender, paths: readonly string[]): void => {
    if (!tracked.has(sender.id)) {
      tracked.add(sender.id);
      sender.onClosed(() => {
        ctx.scanGrants.forget(sender.id);
        tracked.delete(sender.id);
      });
    }
    ctx.scanGrants.grant(sender.id, paths);
  };
  const scanGranted = async (sender: IpcSender, paths: readonly string[]) => ctx.readableFiles.admit(await scanPaths(ctx.scanGrants.claim(sender.id, paths)));

  const handlers: FileHandlers = {
    'files:pick': async (sender, { folders }) => {
      const picked = await ctx.deps.dialogs.pickPaths(sender, { folders });
      if (!picked || picked.length === 0) return null;
      // The dialog's answer is trusted; it still goes through the one gate every scan passes.
      grantScan(sender, picked);
      return scanGranted(sender, picked);
    },
    'files:scan': async (sender, { paths }) => scanGranted(sender, paths),
    'preview:make': async (_sender, { path: filePath }) => {
      ctx.readableFiles.require([{ path: filePath }]);
      return ctx.previewer.preview(path.resolve(filePath), ctx.deps.settings.get().outputOptions);
    },
  };
  const listeners: ListenerMap = {
    'drop:paths': (sender, { paths }) => grantScan(sender, paths),
  };
  return { handlers, listeners };
}
