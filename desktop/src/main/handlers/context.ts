/**
 * What every feature's handlers share: the dependencies, the API client of
 * the current settings, each window's own state (its uploader and live
 * streams, see SenderSessions), and the two path gates, named for what they
 * guard: `scanGrants` (per window, once, 60 s: which paths a window may
 * scan) and `readableFiles` (process-wide: which files a scan returned and
 * may therefore be read).
 */
import type { ResizeRules } from '@imgfleet/backend/imaging';
import type { UploadTimeouts } from '../../shared/api-policy/index.js';
import type { EventChannel } from '../../shared/channels.js';
import type { EventPayloads, IpcSender } from '../../shared/ipc-contract.js';
import type { ServerConfig, Settings } from '../../shared/models.js';
import type { PathGrants } from '../path-grants.js';
import type { ReadableFiles } from '../readable-files.js';
import { ApiClient } from '../services/api-client.js';
import type { LiveStream } from '../services/live-stream.js';
import type { WatchEvent } from '../services/folder-watcher.js';
import type { Previewer } from '../services/previewer.js';
import type { SessionStore } from '../services/session-store.js';
import type { SettingsStore } from '../services/settings-store.js';
import { Uploader } from '../services/uploader.js';

export interface MainDeps {
  settings: SettingsStore;
  /** The last session (the batch the main window showed), in the user data folder. */
  session: SessionStore;
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
  /** Upload time limits (shared/api-policy's defaults otherwise; tests shorten them). */
  uploadTimeouts?: Partial<UploadTimeouts>;
  /** Quiet time before the watched folder takes a file (tests shorten it). */
  watchSettleMs?: number;
  /** What the watched folder did (logged; tests wait on it). */
  onWatchEvent?: (event: WatchEvent) => void;
}

/** One window's work in progress: stopped when the window goes away. */
export interface SenderState {
  uploader: Uploader;
  events?: LiveStream;
  metrics?: LiveStream;
}

export interface MainContext {
  deps: MainDeps;
  rules: ResizeRules;
  /** The connected server's output config (GET /api/v1/config, read by backend:check); the offline one until then. */
  serverConfig: ServerConfig;
  previewer: Previewer;
  client: () => ApiClient;
  sessions: SenderSessions;
  scanGrants: PathGrants;
  readableFiles: ReadableFiles;
  send<E extends EventChannel>(sender: IpcSender, channel: E, payload: EventPayloads[E]): void;
}

export function clientFor(settings: Settings): ApiClient {
  return new ApiClient({ baseUrl: settings.backendUrl, token: settings.apiToken });
}

/** Each window's SenderState, created on first use and disposed when the window closes. */
export class SenderSessions {
  private readonly states = new Map<number, SenderState>();

  constructor(private readonly newUploader: () => Uploader) {}

  of(sender: IpcSender): SenderState {
    let state = this.states.get(sender.id);
    if (!state) {
      const created: SenderState = { uploader: this.newUploader() };
      state = created;
      this.states.set(sender.id, created);
      sender.onClosed(() => {
        stopAll(created);
        this.states.delete(sender.id);
      });
    }
    return state;
  }

  /** The state of a window that has one, without creating it. */
  existing(sender: IpcSender): SenderState | undefined {
    return this.states.get(sender.id);
  }

  all(): Iterable<SenderState> {
    return this.states.values();
  }

  disposeAll(): void {
    for (const state of this.states.values()) stopAll(state);
    this.states.clear();
  }
}

function stopAll(state: SenderState): void {
  state.uploader.cancel();
  state.events?.stop();
  state.metrics?.stop();
}
