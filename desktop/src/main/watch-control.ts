/**
 * Keeps one FolderWatcher running for the watchFolder setting: started with
 * the app when a folder is set, restarted when the folder or the mode
 * changes, stopped with the app. Its state file sits beside the settings
 * (one per watched folder, so choosing another folder starts afresh and
 * choosing the first again remembers what it did). Options, output folder
 * and keepDates are read from the settings for each photo.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ResizeRules } from '@imgfleet/backend/imaging';
import type { Settings } from '../shared/models.js';
import type { ApiClient } from './services/api-client.js';
import { FolderWatcher, type WatchEvent } from './services/folder-watcher.js';
import type { SettingsStore } from './services/settings-store.js';
import { createWatchProcessor } from './services/watch-processor.js';
import { WatchState } from './services/watch-state.js';

export interface WatchControlDeps {
  settings: SettingsStore;
  client: () => ApiClient;
  rules: ResizeRules;
  reconnect?: { minDelayMs: number; maxDelayMs: number };
  settleMs?: number;
  onEvent?: (event: WatchEvent) => void;
}

export interface WatchControl {
  /** Settles once the watcher of the current settings has started (or failed to). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** The state file of a watched folder, in the user data folder. */
export function watchStateFile(settingsFile: string, folder: string): string {
  const tag = createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 16);
  return path.join(path.dirname(settingsFile), 'watched-folders', `${tag}.json`);
}

export function startWatchControl(deps: WatchControlDeps): WatchControl {
  let current: { watcher: FolderWatcher; stop(): Promise<void> } | null = null;
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const start = async (settings: Settings): Promise<void> => {
    await current?.stop();
    current = null;
    if (stopped || !settings.watchFolder) return;
    const state = await WatchState.open(watchStateFile(deps.settings.file, settings.watchFolder));
    const processor = createWatchProcessor({
      mode: settings.watchMode,
      client: deps.client,
      settings: () => deps.settings.get(),
      rules: deps.rules,
      state,
      ...(deps.reconnect ? { reconnect: deps.reconnect } : {}),
    });
    const watcher = new FolderWatcher({
      folder: settings.watchFolder,
      state,
      processor,
      ...(deps.settleMs === undefined ? {} : { settleMs: deps.settleMs }),
      // Results written inside the watched folder must not come back in.
      ignore: settings.outputFolder ? [settings.outputFolder] : [],
      ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
    });
    current = {
      watcher,
      stop: () => watcher.stop(),
    };
    try {
      await watcher.start();
    } catch (err) {
      deps.onEvent?.({ type: 'error', path: settings.watchFolder, message: err instanceof Error ? err.message : String(err) });
    }
  };

  // One change at a time: a quick second change waits for the first watcher to stop.
  const enqueue = (settings: Settings): Promise<void> => (chain = chain.then(() => start(settings)).catch(() => undefined));
  const ready = enqueue(deps.settings.get());
  const unsubscribe = deps.settings.onChange((next, previous) => {
    if (next.watchFolder !== previous.watchFolder || next.watchMode !== previous.watchMode || next.outputFolder !== previous.outputFolder) void enqueue(next);
  });

  return {
    ready,
    async stop() {
      stopped = true;
      unsubscribe();
      await enqueue(deps.settings.get());
    },
  };
}
