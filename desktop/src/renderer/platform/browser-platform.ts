/**
 * The Platform in a plain browser, for the page the backend serves at `/`,
 * put together from named parts: settings in localStorage
 * (browser-settings), same-origin fetch (browser-http), XHR uploads
 * (browser-uploads), file inputs and dropped folders (browser-files),
 * previews decoded by the browser (browser-preview), live updates over
 * EventSource (browser-live), downloads and the batch ZIP
 * (browser-downloads), the batch in the address and local storage
 * (browser-session). What only a desktop can do (local resize, output
 * folder) is reported as unavailable in capabilities, and the UI hides it.
 */
import { OFFLINE_CONFIG, parseServerConfig } from '../../shared/server-config.js';
import { IMAGE_NOT_FOUND, batchPageQuery, goneAmong, readAllPages } from '../../shared/api-policy/index.js';
import type { BatchListResponse, ImageListResponse } from '@imgfleet/backend/contract';
import { BrowserDownloads } from './browser-downloads.js';
import { BrowserFiles } from './browser-files.js';
import { BrowserHttp } from './browser-http.js';
import { openLiveStream } from './browser-live.js';
import { browserComparePictures } from './browser-compare.js';
import { createSlots, makePreview } from './browser-preview.js';
import { restoreBatch, saveBatch } from './browser-session.js';
import { BrowserSettings } from './browser-settings.js';
import { BrowserUploads } from './browser-uploads.js';
import { PlatformError, errorMessage, type LiveConnection, type MetricsOverview, type MetricsUpdate, type Platform } from './platform.js';

const desktopOnly = (what: string) => async (): Promise<never> => {
  throw new PlatformError('UNSUPPORTED', what);
};

export function createBrowserPlatform(origin: string = location.origin): Platform {
  const settings = new BrowserSettings(origin);
  const http = new BrowserHttp(origin, settings);
  const files = new BrowserFiles();
  const uploads = new BrowserUploads(origin, settings, (local) => files.get(local));
  const downloads = new BrowserDownloads(http, settings);
  const previewSlot = createSlots();
  const live = createBrowserLive(origin, settings, http);

  return {
    kind: 'browser',
    capabilities: { localResize: false, chooseFolder: false, openFolder: false, notifications: false, batchArchive: true, namedAtUpload: true },

    getSettings: async () => settings.get(),
    updateSettings: async (patch) => settings.update(patch),

    pickFiles: ({ folders }) => files.pick(folders),
    // Not async: the drop's items must be read before the event handler returns.
    filesFromDrop: (data) => files.fromDrop(data),
    preview: (file) => previewSlot(() => makePreview(files.get(file), file.key)),
    comparePictures: ({ file, id, options, target }) =>
      browserComparePictures({
        file: file ? files.get(file) : null,
        resultUrl: id === null ? null : settings.withToken(`/api/v1/images/${id}/processed`),
        options,
        target,
      }),

    upload: (batchId, list, on) => uploads.upload(batchId, list, on),
    cancelUploads: async () => uploads.cancel(),

    listBatch: (batchId) => readAllPages((offset, limit) => http.json<ImageListResponse>(`/api/v1/images?${batchPageQuery(batchId, offset, limit)}`)),
    imagesGone: (ids) =>
      goneAmong(ids, async (id) => {
        try {
          await http.json(`/api/v1/images/${id}`);
          return true;
        } catch (err) {
          if (err instanceof PlatformError && err.code === IMAGE_NOT_FOUND) return false;
          throw err;
        }
      }),
    async retry(id) {
      await http.request(`/api/v1/images/${id}/retry`, { method: 'POST' });
    },
    async remove(id) {
      await http.request(`/api/v1/images/${id}`, { method: 'DELETE' });
    },
    ...createBrowserBatches(settings, http),

    download: downloads.download,
    downloadArchive: downloads.downloadArchive,
    resizeLocally: desktopOnly('resizing on this computer needs the desktop app'),
    chooseFolder: desktopOnly('the browser saves into its downloads folder'),
    openFolder: desktopOnly('the browser saves into its downloads folder'),
    watchFolder: desktopOnly('a web page cannot watch a folder'),

    ...live,
    stats: () => http.json('/api/v1/stats'),
    async checkBackend() {
      try {
        await http.request('/healthz');
      } catch (err) {
        return { reachable: false, url: origin, error: errorMessage(err), config: OFFLINE_CONFIG };
      }
      // A server from before the options has no config: its defaults are the offline ones.
      const config = parseServerConfig(await http.json('/api/v1/config').catch(() => null)) ?? OFFLINE_CONFIG;
      return { reachable: true, url: origin, config };
    },

    async notify() {
      // The page shows its own notice; no permission prompt for it.
    },
    async openMetricsWindow() {
      window.open('metrics.html', '_blank', 'noopener');
    },
    onMenuCommand() {
      return () => undefined;
    },
  };
}

/** Batches over time: the one in the address and storage, the server's list, a result's picture. */
function createBrowserBatches(
  settings: BrowserSettings,
  http: BrowserHttp,
): Pick<Platform, 'resultPicture' | 'listBatches' | 'deleteBatch' | 'saveSession' | 'restoreSession'> {
  return {
    // The result itself (at most the batch's box), from this origin; an img cannot send the token as a header.
    resultPicture: async (id) => settings.withToken(`/api/v1/images/${id}/processed`),
    listBatches: ({ limit, offset }) => http.json<BatchListResponse>(`/api/v1/batches?limit=${limit}&offset=${offset}`),
    async deleteBatch(batchId) {
      await http.request(`/api/v1/batches/${encodeURIComponent(batchId)}`, { method: 'DELETE' });
    },
    saveSession: async (batch) => saveBatch(batch),
    restoreSession: async () => restoreBatch(),
  };
}

/** The live streams: a batch's status events, and the metrics (with the first overview read at once). */
function createBrowserLive(origin: string, settings: BrowserSettings, http: BrowserHttp): Pick<Platform, 'watchEvents' | 'watchMetrics'> {
  const liveStream = (path: string, events: Record<string, (data: unknown) => void>, onConnection: (c: LiveConnection) => void): (() => void) =>
    openLiveStream({ origin, path, token: () => settings.stored().apiToken, events, onConnection });
  return {
    watchEvents(batchId, { onStatus, onDeleted, onConnection }) {
      return liveStream(
        `/api/v1/events?batchId=${encodeURIComponent(batchId)}`,
        { status: (data) => onStatus(data as Parameters<typeof onStatus>[0]), deleted: (data) => onDeleted(data as Parameters<typeof onDeleted>[0]) },
        onConnection,
      );
    },
    async watchMetrics(onUpdate, onConnection) {
      const sample = (type: 'snapshot' | 'derived') => (data: unknown) =>
        onUpdate({ type, sample: data as Extract<MetricsUpdate, { sample: unknown }>['sample'] });
      const stop = liveStream(
        '/api/v1/metrics/stream',
        {
          snapshot: sample('snapshot'),
          derived: sample('derived'),
          expired: (data) => onUpdate({ type: 'expired', pod: (data as { pod: string }).pod }),
          health: (data) => onUpdate({ type: 'health', health: data as Extract<MetricsUpdate, { type: 'health' }>['health'] }),
        },
        onConnection,
      );
      let overview: MetricsOverview;
      try {
        // The longest span the window offers, so every span draws at once.
        overview = await http.json<MetricsOverview>('/api/v1/metrics?span=3600');
      } catch (err) {
        if (!(err instanceof PlatformError) || err.code !== 'OFFLINE') {
          stop();
          throw err;
        }
        overview = { pods: [], periodSeconds: 5, source: 'unreachable', redisConnected: null };
      }
      return { overview, stop };
    },
  };
}
