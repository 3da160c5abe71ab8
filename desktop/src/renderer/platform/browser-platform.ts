/**
 * The Platform in a plain browser, for the page the backend serves at `/`:
 * same-origin fetch, XHR for uploads (it reports upload progress), file
 * inputs and dropped folders (browser-files), previews decoded by the
 * browser (browser-preview), live updates over EventSource (browser-live),
 * one result saved as a download, "Download all" as one ZIP the backend
 * streams. What only a desktop can do (local resize, output folder) is
 * reported as unavailable in capabilities, and the UI hides it.
 */
import { renderName, splitName, DEFAULT_NAMING_TEMPLATE, templateProblem } from '../../shared/naming-template.js';
import type { ApiErrorBody, BatchSummary, ImageListResponse, UploadResponse } from '@imgfleet/backend/contract';
import { BrowserFiles } from './browser-files.js';
import { openLiveStream } from './browser-live.js';
import { createSlots, makePreview } from './browser-preview.js';
import {
  PlatformError,
  type ImageSummary,
  type LiveConnection,
  type LocalFile,
  type MetricsOverview,
  type MetricsUpdate,
  type Platform,
  type Settings,
  type UploadOutcome,
  type UploadSummary,
  type WriteOutcome,
} from './platform.js';

const STORAGE_KEY = 'imgfleet.settings';

interface StoredSettings {
  apiToken: string;
  namingTemplate: string;
  uploadConcurrency: number;
}

/** Saves a same-origin URL or a blob: URL through the browser's downloads (the `download` attribute keeps the page where it is). */
function saveThroughLink(href: string, name: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = name;
  link.rel = 'noopener';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

export function createBrowserPlatform(origin: string = location.origin): Platform {
  const files = new BrowserFiles();
  const uploads = new Set<XMLHttpRequest>();
  const previewSlot = createSlots();
  let cancelGeneration = 0;

  const stored = (): StoredSettings => {
    const defaults: StoredSettings = { apiToken: '', namingTemplate: DEFAULT_NAMING_TEMPLATE, uploadConcurrency: 4 };
    try {
      return { ...defaults, ...(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<StoredSettings>) };
    } catch {
      return defaults;
    }
  };
  const settings = (): Settings => ({ ...stored(), backendUrl: origin, outputFolder: '' });
  const authHeaders = (): Record<string, string> => {
    const token = stored().apiToken;
    return token ? { Authorization: `Bearer ${token}` } : {};
  };

  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(`${origin}${path}`, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string>) } });
    } catch (err) {
      throw new PlatformError('OFFLINE', `the backend at ${origin} is unreachable (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!response.ok) {
      let body: { error?: string; code?: string } = {};
      try {
        body = (await response.json()) as typeof body;
      } catch {
        // not JSON: use the status line
      }
      throw new PlatformError(body.code ?? `HTTP_${response.status}`, body.error ?? `the backend answered ${response.status}`);
    }
    return response;
  };
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await request(path, init)).json() as Promise<T>;

  const fileOf = (local: LocalFile): File => files.get(local);
  const withToken = (path: string): string => {
    const token = stored().apiToken;
    return token ? `${origin}${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : `${origin}${path}`;
  };
  const liveStream = (path: string, events: Record<string, (data: unknown) => void>, onConnection: (c: LiveConnection) => void): (() => void) =>
    openLiveStream({ origin, path, token: () => stored().apiToken, events, onConnection });

  const uploadOne = (batchId: string, local: LocalFile, generation: number, on: Parameters<Platform['upload']>[2]): Promise<UploadOutcome> => {
    let file: File;
    try {
      file = fileOf(local);
    } catch (err) {
      return Promise.resolve({ key: local.key, ok: false, cancelled: false, error: err instanceof Error ? err.message : String(err), code: 'FORBIDDEN_PATH' });
    }
    const attemptOnce = (attempt: number): Promise<UploadOutcome | 'retry'> =>
      new Promise((resolve) => {
        const xhr = new XMLHttpRequest();
        uploads.add(xhr);
        const done = (value: UploadOutcome | 'retry'): void => {
          uploads.delete(xhr);
          resolve(value);
        };
        xhr.open('POST', `${origin}/api/v1/images?batchId=${encodeURIComponent(batchId)}`);
        for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
        xhr.responseType = 'json';
        xhr.upload.onprogress = (e) => on.progress({ key: local.key, loaded: e.loaded, total: e.lengthComputable ? e.total : file.size, attempt });
        xhr.onabort = () => done({ key: local.key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' });
        xhr.onerror = () => done('retry');
        xhr.onload = () => {
          const body = xhr.response as (Partial<UploadResponse> & Partial<ApiErrorBody>) | null;
          if (xhr.status === 502 || xhr.status === 503 || xhr.status === 504 || xhr.status === 429) return done('retry');
          const result = body?.images?.[0];
          if (xhr.status >= 200 && xhr.status < 300 && result) {
            return done({ key: local.key, ok: true, batchId: body?.batchId ?? batchId, result });
          }
          done({ key: local.key, ok: false, cancelled: false, error: body?.error ?? `the backend answered ${xhr.status}`, code: body?.code ?? `HTTP_${xhr.status}` });
        };
        const form = new FormData();
        form.append('images', file, file.name);
        xhr.send(form);
      });
    return (async () => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        if (generation !== cancelGeneration) break;
        const outcome = await attemptOnce(attempt);
        if (outcome !== 'retry') return outcome;
        if (attempt === 5) {
          return { key: local.key, ok: false, cancelled: false, error: `the backend at ${origin} is unreachable`, code: 'OFFLINE' } as const;
        }
        const step = Math.min(8000, 500 * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, step / 2 + Math.random() * (step / 2)));
      }
      return { key: local.key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' } as const;
    })();
  };

  return {
    kind: 'browser',
    capabilities: { localResize: false, chooseFolder: false, openFolder: false, notifications: false, batchArchive: true },

    async getSettings() {
      return settings();
    },
    async updateSettings(patch) {
      const next = { ...stored() };
      if (patch.apiToken !== undefined) next.apiToken = patch.apiToken;
      if (patch.namingTemplate !== undefined) {
        const problem = templateProblem(patch.namingTemplate);
        if (problem) throw new PlatformError('INVALID_SETTINGS', `namingTemplate: ${problem}`);
        next.namingTemplate = patch.namingTemplate;
      }
      if (patch.uploadConcurrency !== undefined) {
        const n = patch.uploadConcurrency;
        if (!Number.isInteger(n) || n < 1 || n > 16) throw new PlatformError('INVALID_SETTINGS', 'uploadConcurrency: a whole number from 1 to 16');
        next.uploadConcurrency = n;
      }
      localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
      return settings();
    },

    pickFiles: ({ folders }) => files.pick(folders),
    // Not async: the drop's items must be read before the event handler returns.
    filesFromDrop: (data) => files.fromDrop(data),

    preview: (file) => previewSlot(() => makePreview(fileOf(file), file.key)),

    async upload(batchId, list, on) {
      const generation = cancelGeneration;
      const summary: UploadSummary = { batchId, accepted: 0, rejected: 0, failed: 0, cancelled: 0, outcomes: [] };
      const queue = [...list];
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const outcome = generation === cancelGeneration
            ? await uploadOne(batchId, next, generation, on)
            : ({ key: next.key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' } as const);
          if (outcome.ok) summary[outcome.result.status === 'failed' ? 'rejected' : 'accepted']++;
          else summary[outcome.cancelled ? 'cancelled' : 'failed']++;
          summary.outcomes.push(outcome);
          on.result(outcome);
        }
      };
      await Promise.all(Array.from({ length: Math.min(list.length, stored().uploadConcurrency) }, worker));
      return summary;
    },
    async cancelUploads() {
      const running = uploads.size;
      cancelGeneration++;
      for (const xhr of [...uploads]) xhr.abort();
      return running;
    },

    async listBatch(batchId) {
      const images: ImageSummary[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await json<ImageListResponse>(`/api/v1/images?batchId=${encodeURIComponent(batchId)}&limit=1000&offset=${offset}`);
        images.push(...page.images);
        if (page.images.length < 1000 || images.length >= page.total) return images;
      }
    },
    async retry(id) {
      await request(`/api/v1/images/${id}/retry`, { method: 'POST' });
    },
    async remove(id) {
      await request(`/api/v1/images/${id}`, { method: 'DELETE' });
    },

    async download(items, onResult) {
      const results: WriteOutcome[] = [];
      // One by one: each is a small JPEG, and the card shows its own outcome.
      for (const item of items) {
        let outcome: WriteOutcome;
        try {
          const image = await json<ImageSummary>(`/api/v1/images/${item.id}`);
          const blob = await (await request(`/api/v1/images/${item.id}/processed?download`)).blob();
          const { base, ext } = splitName(item.name);
          const name = renderName(stored().namingTemplate, { name: base, ext, width: image.width ?? 0, height: image.height ?? 0, id: item.id });
          const url = URL.createObjectURL(blob);
          saveThroughLink(url, name);
          // The download has taken the blob by then; a minute leaves room for a slow disk.
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
          outcome = { key: item.key, ok: true, path: name, width: image.width ?? 0, height: image.height ?? 0 };
        } catch (err) {
          outcome = { key: item.key, ok: false, error: err instanceof Error ? err.message : String(err), code: err instanceof PlatformError ? err.code : 'INTERNAL' };
        }
        results.push(outcome);
        onResult(outcome);
      }
      const written = results.filter((r) => r.ok).length;
      return { folder: null, written, failed: results.length - written, results };
    },
    async downloadArchive(batchId, ids) {
      const path = `/api/v1/batches/${encodeURIComponent(batchId)}`;
      // Asked first: a refused or empty ZIP would otherwise be a silent "failed" entry in the browser's downloads.
      const summary = await json<BatchSummary>(path);
      if (summary.completed === 0) throw new PlatformError('NOT_FOUND', 'no image of this batch has completed yet');
      const name = `imgfleet-${batchId.slice(0, 8)}.zip`;
      // A plain link: the browser streams the ZIP to disk as the backend writes it, nothing held in the page.
      // Links cannot carry an Authorization header, hence the token in the query, as for EventSource.
      // Only the results still on the page: a card removed there stays out of the ZIP.
      // (All of them: no list, so a batch of thousands never makes a URL too long.)
      const only = ids.length < summary.completed ? `?ids=${ids.join(',')}` : '';
      saveThroughLink(withToken(`${path}/zip${only}`), name);
      return { name };
    },
    async resizeLocally() {
      throw new PlatformError('UNSUPPORTED', 'resizing on this computer needs the desktop app');
    },
    async chooseFolder() {
      throw new PlatformError('UNSUPPORTED', 'the browser saves into its downloads folder');
    },
    async openFolder() {
      throw new PlatformError('UNSUPPORTED', 'the browser saves into its downloads folder');
    },

    watchEvents(batchId, onStatus, onConnection) {
      return liveStream(
        `/api/v1/events?batchId=${encodeURIComponent(batchId)}`,
        { status: (data) => onStatus(data as Parameters<typeof onStatus>[0]) },
        onConnection,
      );
    },
    async watchMetrics(onUpdate, onConnection) {
      const sample = (type: 'snapshot' | 'derived') => (data: unknown) => onUpdate({ type, sample: data as Extract<MetricsUpdate, { sample: unknown }>['sample'] });
      const stop = liveStream(
        '/api/v1/metrics/stream',
        { snapshot: sample('snapshot'), derived: sample('derived'), expired: (data) => onUpdate({ type: 'expired', pod: (data as { pod: string }).pod }) },
        onConnection,
      );
      let overview: MetricsOverview;
      try {
        // The longest span the window offers, so every span draws at once.
        overview = await json<MetricsOverview>('/api/v1/metrics?span=3600');
      } catch (err) {
        if (!(err instanceof PlatformError) || err.code !== 'OFFLINE') {
          stop();
          throw err;
        }
        overview = { pods: [], periodSeconds: 5, source: 'unreachable', redisConnected: null };
      }
      return { overview, stop };
    },
    stats: () => json('/api/v1/stats'),
    async checkBackend() {
      try {
        await request('/healthz');
        return { reachable: true, url: origin };
      } catch (err) {
        return { reachable: false, url: origin, error: err instanceof Error ? err.message : String(err) };
      }
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
