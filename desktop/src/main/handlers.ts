/**
 * The main process's behaviour, as one channel → handler map over plain Node
 * services, put together from one module per feature (handlers/): app and
 * settings, files, uploads, results, batches and the session, live
 * streams. electron-main.ts wires it
 * to ipcMain; the tests wire the same map into a headless Chromium page.
 * Nothing here imports electron: what needs it (dialogs, the shell,
 * notifications, windows) comes in as deps.
 *
 * The renderer is treated as untrusted, behind two gates: `scanGrants`
 * (path-grants.ts: a window can only scan paths really dropped on it or
 * picked in its dialog) and `readableFiles` (readable-files.ts: only files
 * such a scan returned can be previewed, uploaded or resized, so a
 * compromised page cannot upload ~/.ssh). It can only write into the output
 * folder the person chose in a folder dialog, and only open that folder.
 */
import { DEFAULT_RULES } from '@imgfleet/backend/imaging';
import type { HandlerMap, ListenerMap } from '../shared/ipc-contract.js';
import { appHandlers } from './handlers/app.js';
import { batchHandlers } from './handlers/batches.js';
import { SenderSessions, clientFor, type MainContext, type MainDeps } from './handlers/context.js';
import { fileHandlers } from './handlers/files.js';
import { liveHandlers } from './handlers/live.js';
import { resultHandlers } from './handlers/results.js';
import { compareHandlers } from './handlers/compare.js';
import { watchHandlers } from './handlers/watch.js';
import { logger } from './logger.js';
import { startWatchControl, type WatchControl } from './watch-control.js';
import { uploadHandlers } from './handlers/uploads.js';
import { createPathGrants } from './path-grants.js';
import { ReadableFiles } from './readable-files.js';
import { createPreviewer } from './services/previewer.js';
import { OFFLINE_CONFIG } from '../shared/server-config.js';
import { Uploader } from './services/uploader.js';

export type { MainDeps } from './handlers/context.js';

export interface MainHandlers {
  handlers: HandlerMap;
  /** The preload's one-way messages (a drop's paths). */
  listeners: ListenerMap;
  /** Stops every live stream and aborts uploads (app quit, test teardown). */
  dispose(): void;
  /** The watched folder's watcher (tests wait for it to be ready). */
  watching: WatchControl;
}

export function createMainHandlers(deps: MainDeps): MainHandlers {
  const rules = deps.rules ?? DEFAULT_RULES;
  let client = clientFor(deps.settings.get());
  const sessions = new SenderSessions(
    () =>
      new Uploader({
        client: () => client,
        concurrency: deps.settings.get().uploadConcurrency,
        ...deps.uploadRetry,
        ...(deps.uploadTimeouts ? { timeouts: deps.uploadTimeouts } : {}),
      }),
  );
  const ctx: MainContext = {
    deps,
    rules,
    serverConfig: OFFLINE_CONFIG,
    previewer: deps.previewer ?? createPreviewer({ rules }),
    client: () => client,
    sessions,
    scanGrants: createPathGrants(),
    readableFiles: new ReadableFiles(),
    send: (sender, channel, payload) => sender.send(channel, payload),
  };

  const unsubscribeSettings = deps.settings.onChange((next, previous) => {
    if (next.backendUrl !== previous.backendUrl || next.apiToken !== previous.apiToken) {
      client = clientFor(next);
      // Streams read the client lazily; restarting points them at the new backend now.
      for (const state of sessions.all()) {
        state.events?.restart();
        state.metrics?.restart();
      }
    }
    if (next.uploadConcurrency !== previous.uploadConcurrency) {
      for (const state of sessions.all()) state.uploader.setConcurrency(next.uploadConcurrency);
    }
  });

  const files = fileHandlers(ctx);
  const handlers = {
    ...appHandlers(ctx),
    ...files.handlers,
    ...uploadHandlers(ctx),
    ...resultHandlers(ctx),
    ...compareHandlers(ctx),
    ...watchHandlers(ctx),
    ...batchHandlers(ctx),
    ...liveHandlers(ctx),
  } satisfies HandlerMap;

  const watching = startWatchControl({
    settings: deps.settings,
    client: () => client,
    rules,
    ...(deps.reconnect ? { reconnect: deps.reconnect } : {}),
    ...(deps.watchSettleMs === undefined ? {} : { settleMs: deps.watchSettleMs }),
    onEvent: (event) => {
      if (event.type === 'error') logger.warn({ path: event.path }, `watched folder: ${event.message}`);
      else if (event.type === 'finished')
        logger.info({ path: event.path, stage: event.entry.stage, result: event.entry.result, error: event.entry.error }, 'watched folder: photo processed');
      deps.onWatchEvent?.(event);
    },
  });

  return {
    handlers,
    listeners: files.listeners,
    watching,
    dispose() {
      void watching.stop();
      unsubscribeSettings();
      sessions.disposeAll();
    },
  };
}
