/**
 * The main process's behaviour, as one channel → handler map over plain Node
 * services. electron-main.ts wires it to ipcMain; the tests wire the same
 * map into a headless Chromium page. Nothing here imports electron: what
 * needs it (dialogs, the shell, notifications, windows) comes in as deps.
 *
 * The renderer is treated as untrusted. It can only scan paths that were
 * really dropped on its window or picked in its dialog (path-grants.ts), can
 * only read files that such a scan returned (a compromised page cannot upload
 * ~/.ssh), can only write into the output folder the person chose in a folder
 * dialog, and can only open that folder.
 */
import path from 'node:path';
import { DEFAULT_RULES, type ResizeRules } from '@imgfleet/backend/imaging';
import type { EventChannel } from '../shared/channels.js';
import type { EventPayloads, HandlerMap, IpcSender, ListenerMap } from '../shared/ipc-contract.js';
import type { FileRef, MetricsOverview, Settings, WriteSummary } from '../shared/models.js';
import { ApiClient } from './services/api-client.js';
import { AppError } from './services/app-error.js';
import { downloadImages } from './services/downloader.js';
import { createEventsClient } from './services/events-client.js';
import { scanPaths } from './services/file-scanner.js';
import type { LiveStream } from './services/live-stream.js';
import { resizeLocally } from './services/local-resizer.js';
import { createMetricsClient } from './services/metrics-client.js';
import { createPathGrants } from './path-grants.js';
import { createPreviewer, type Previewer } from './services/previewer.js';
import type { SettingsStore } from './services/settings-store.js';
import { Uploader } from './services/uploader.js';

export interface MainDeps {
  settings: SettingsStore;
  dialogs: {
    /** Paths picked in an open dialog (JPG filter, multi-select), or null when cancelled. */
    pickPaths(sender: IpcSender, options: { folders: boolean }): Promise<string[] | null>;
    chooseFolder(sender: IpcSender): Promise<string | null>;
  };
  openFolder(folder: string): Promise<void>;
  notify(title: string, body: string): void;
  openMetricsWindow(): void;
  previewer?: Previewer;
  rules?: ResizeRules;
  /** Reconnection delays of the live streams (tests shorten them). */
  reconnect?: { minDelayMs: number; maxDelayMs: number };
  /** Retry delays of the uploader (tests shorten them). */
  uploadRetry?: { retries: number; baseDelayMs: number; maxDelayMs: number };
}

export interface MainHandlers {
  handlers: HandlerMap;
  /** The preload's one-way messages (a drop's paths). */
  listeners: ListenerMap;
  /** Stops every live stream and aborts uploads (app quit, test teardown). */
  dispose(): void;
}

interface SenderState {
  uploader: Uploader;
  events?: LiveStream;
  metrics?: LiveStream;
}

export function createMainHandlers(deps: MainDeps): MainHandlers {
  const rules = deps.rules ?? DEFAULT_RULES;
  const previewer = deps.previewer ?? createPreviewer({ rules });
  const granted = new Set<string>();
  const senders = new Map<number, SenderState>();
  const pathGrants = createPathGrants();
  const grantsTracked = new Set<number>();

  let client = clientFor(deps.settings.get());
  const currentClient = (): ApiClient => client;

  const unsubscribeSettings = deps.settings.onChange((next, previous) => {
    if (next.backendUrl !== previous.backendUrl || next.apiToken !== previous.apiToken) {
      client = clientFor(next);
      // Streams read the client lazily; restarting points them at the new backend now.
      for (const state of senders.values()) {
        state.events?.restart();
        state.metrics?.restart();
      }
    }
    if (next.uploadConcurrency !== previous.uploadConcurrency) {
      for (const state of senders.values()) state.uploader.setConcurrency(next.uploadConcurrency);
    }
  });

  const stateFor = (sender: IpcSender): SenderState => {
    let state = senders.get(sender.id);
    if (!state) {
      const created: SenderState = {
        uploader: new Uploader({ client: currentClient, concurrency: deps.settings.get().uploadConcurrency, ...deps.uploadRetry }),
      };
      state = created;
      senders.set(sender.id, created);
      sender.onClosed(() => {
        created.uploader.cancel();
        created.events?.stop();
        created.metrics?.stop();
        senders.delete(sender.id);
      });
    }
    return state;
  };

  const send = <E extends EventChannel>(sender: IpcSender, channel: E, payload: EventPayloads[E]): void => {
    sender.send(channel, payload);
  };

  /** Lets this sender scan `paths` once (a drop its preload saw, or its own dialog's answer). */
  const grantPaths = (sender: IpcSender, paths: readonly string[]): void => {
    if (!grantsTracked.has(sender.id)) {
      grantsTracked.add(sender.id);
      sender.onClosed(() => {
        pathGrants.forget(sender.id);
        grantsTracked.delete(sender.id);
      });
    }
    pathGrants.grant(sender.id, paths);
  };

  const grant = <T extends { files: Array<{ path: string }> }>(scan: T): T => {
    for (const file of scan.files) granted.add(file.path);
    return scan;
  };

  const requireGranted = (files: readonly FileRef[]): void => {
    for (const file of files) {
      if (!granted.has(path.resolve(file.path))) {
        throw new AppError('FORBIDDEN_PATH', `${file.path} was not chosen or dropped in this session`);
      }
    }
  };

  /** The output folder; asks for one (and remembers it) when none is set. Null when the person cancels. */
  const outputFolder = async (sender: IpcSender): Promise<string | null> => {
    const current = deps.settings.get().outputFolder;
    if (current) return current;
    const chosen = await deps.dialogs.chooseFolder(sender);
    if (!chosen) return null;
    await deps.settings.update({ outputFolder: path.resolve(chosen) });
    return deps.settings.get().outputFolder;
  };

  const noFolder = (): WriteSummary => ({ folder: null, written: 0, failed: 0, results: [] });

  const handlers: HandlerMap = {
    'settings:get': async () => deps.settings.get(),
    'settings:update': async (_sender, patch) => deps.settings.update(patch),

    'files:pick': async (sender, { folders }) => {
      const picked = await deps.dialogs.pickPaths(sender, { folders });
      if (!picked || picked.length === 0) return null;
      // The dialog's answer is trusted; it still goes through the one gate every scan passes.
      grantPaths(sender, picked);
      return grant(await scanPaths(pathGrants.claim(sender.id, picked)));
    },
    'files:scan': async (sender, { paths }) => grant(await scanPaths(pathGrants.claim(sender.id, paths))),

    'preview:make': async (_sender, { path: filePath }) => {
      requireGranted([{ key: filePath, path: filePath }]);
      return previewer.preview(path.resolve(filePath));
    },

    'upload:start': async (sender, { batchId, files }) => {
      requireGranted(files);
      const { uploader } = stateFor(sender);
      return uploader.upload(batchId, files, {
        onProgress: (progress) => send(sender, 'upload:progress', progress),
        onResult: (outcome) => send(sender, 'upload:result', outcome),
      });
    },
    'upload:cancel': async (sender) => ({ cancelled: stateFor(sender).uploader.cancel() }),

    'images:list': async (_sender, { batchId }) => client.listBatch(batchId),
    'images:retry': async (_sender, { id }) => {
      await client.retry(id);
      return { id };
    },
    'images:delete': async (_sender, { id }) => {
      await client.remove(id);
      return { id };
    },

    'download:images': async (sender, { items }) => {
      const folder = await outputFolder(sender);
      if (!folder) return noFolder();
      return downloadImages(client, items, {
        folder,
        template: deps.settings.get().namingTemplate,
        onResult: (outcome) => send(sender, 'download:progress', outcome),
      });
    },
    'resize:local': async (sender, { files }) => {
      requireGranted(files);
      const folder = await outputFolder(sender);
      if (!folder) return noFolder();
      return resizeLocally(files, {
        folder,
        template: deps.settings.get().namingTemplate,
        rules,
        onResult: (outcome) => send(sender, 'resize:progress', outcome),
      });
    },

    'folder:choose': async (sender) => {
      const chosen = await deps.dialogs.chooseFolder(sender);
      if (!chosen) return { folder: null };
      await deps.settings.update({ outputFolder: path.resolve(chosen) });
      return { folder: deps.settings.get().outputFolder };
    },
    'folder:open': async () => {
      const folder = deps.settings.get().outputFolder;
      if (!folder) throw new AppError('NO_OUTPUT_FOLDER', 'no output folder has been chosen yet');
      await deps.openFolder(folder);
      return { folder };
    },

    'events:watch': async (sender, { batchId }) => {
      const state = stateFor(sender);
      state.events?.stop();
      state.events = createEventsClient({
        client: currentClient,
        batchId,
        onStatus: (event) => send(sender, 'events:status', event),
        onState: (connection) => send(sender, 'events:connection', connection),
        ...deps.reconnect,
      });
      state.events.start();
      return { batchId };
    },
    'metrics:watch': async (sender) => {
      const state = stateFor(sender);
      state.metrics?.stop();
      state.metrics = createMetricsClient({
        client: currentClient,
        onUpdate: (update) => send(sender, 'metrics:update', update),
        onState: (connection) => send(sender, 'metrics:connection', connection),
        ...deps.reconnect,
      });
      state.metrics.start();
      try {
        return await client.metrics();
      } catch (err) {
        // The stream keeps trying; the window shows the backend as unreachable meanwhile.
        if (err instanceof AppError && err.code === 'OFFLINE') return unreachableOverview();
        throw err;
      }
    },
    'metrics:unwatch': async (sender) => {
      const state = senders.get(sender.id);
      state?.metrics?.stop();
      if (state) delete state.metrics;
      return {};
    },
    'stats:get': async () => client.stats(),
    'backend:check': async () => {
      try {
        await client.health();
        return { reachable: true, url: client.baseUrl };
      } catch (err) {
        return { reachable: false, url: client.baseUrl, error: err instanceof Error ? err.message : String(err) };
      }
    },

    notify: async (_sender, { title, body }) => {
      deps.notify(title, body);
      return {};
    },
    'window:open-metrics': async () => {
      deps.openMetricsWindow();
      return {};
    },
  };

  const listeners: ListenerMap = {
    'drop:paths': (sender, { paths }) => grantPaths(sender, paths),
  };

  return {
    handlers,
    listeners,
    dispose() {
      unsubscribeSettings();
      for (const state of senders.values()) {
        state.uploader.cancel();
        state.events?.stop();
        state.metrics?.stop();
      }
      senders.clear();
    },
  };
}

function clientFor(settings: Settings): ApiClient {
  return new ApiClient({ baseUrl: settings.backendUrl, token: settings.apiToken });
}

function unreachableOverview(): MetricsOverview {
  return { pods: [], periodSeconds: 5, source: 'unreachable', redisConnected: null };
}
