/**
 * The Platform in a plain browser, for the page the backend serves at `/`:
 * same-origin fetch and XHR (XHR for upload progress), <input type=file> and
 * dropped folders read with webkitGetAsEntry, previews decoded by the
 * browser and scaled on an OffscreenCanvas, results saved through download
 * links, live updates with EventSource (the token goes in ?access_token=
 * because EventSource cannot set headers). What only a desktop can do
 * (local resize, output folder) is reported as unavailable in capabilities.
 */
import { renderName, splitName, DEFAULT_NAMING_TEMPLATE, templateProblem } from '../../shared/naming-template.js';
import type { ApiErrorBody, ImageListResponse, UploadResponse } from '@imgfleet/backend/contract';
import { DEFAULT_RULES, detectFormat, fitInside } from './imaging-rules.js';
import {
  PlatformError,
  type AddedFiles,
  type ConnectionState,
  type ImageSummary,
  type LocalFile,
  type MetricsOverview,
  type MetricsUpdate,
  type Platform,
  type PreviewResult,
  type Settings,
  type UploadOutcome,
  type UploadSummary,
  type WriteOutcome,
} from './platform.js';

const STORAGE_KEY = 'imgfleet.settings';
const JPG = /\.jpe?g$/i;
const PREVIEW_BOX = 320;

interface StoredSettings {
  apiToken: string;
  namingTemplate: string;
  uploadConcurrency: number;
}

export function createBrowserPlatform(origin: string = location.origin): Platform {
  const files = new Map<string, File>();
  const uploads = new Set<XMLHttpRequest>();
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

  const register = (list: File[], ignoredBefore = 0): AddedFiles => {
    const added: LocalFile[] = [];
    let ignored = ignoredBefore;
    for (const file of list) {
      if (!JPG.test(file.name)) {
        ignored++;
        continue;
      }
      const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
      const key = `${relative}|${file.size}|${file.lastModified}`;
      files.set(key, file);
      added.push({ key, name: file.name, size: file.size, path: relative });
    }
    return { files: added, ignored };
  };

  const fileOf = (local: LocalFile): File => {
    const file = files.get(local.key);
    if (!file) throw new PlatformError('FORBIDDEN_PATH', `${local.name} is no longer available; add it again`);
    return file;
  };

  const uploadOne = (batchId: string, local: LocalFile, generation: number, on: Parameters<Platform['upload']>[2]): Promise<UploadOutcome> => {
    const file = fileOf(local);
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

  /** EventSource with our own backoff: the browser's gives up for good after an HTTP error. */
  const liveStream = (path: string, events: Record<string, (data: unknown) => void>, onConnection: (c: ConnectionState) => void): (() => void) => {
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let stopped = false;
    const connect = (): void => {
      if (stopped) return;
      const token = stored().apiToken;
      const url = `${origin}${path}${path.includes('?') ? '&' : '?'}${token ? `access_token=${encodeURIComponent(token)}` : ''}`;
      onConnection({ state: 'connecting', url: origin });
      source = new EventSource(url);
      source.onopen = () => {
        failures = 0;
        onConnection({ state: 'open', url: origin });
      };
      source.onerror = () => {
        source?.close();
        const step = Math.min(15_000, 500 * 2 ** failures++);
        const delay = Math.round(step / 2 + Math.random() * (step / 2));
        onConnection({ state: 'offline', url: origin, error: 'connection lost', retryInMs: delay });
        timer = setTimeout(connect, delay);
      };
      for (const [name, handler] of Object.entries(events)) {
        source.addEventListener(name, (event) => {
          try {
            handler(JSON.parse((event as MessageEvent<string>).data));
          } catch {
            // malformed message: skipped
          }
        });
      }
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
    };
  };

  const makePreview = async (local: LocalFile): Promise<PreviewResult> => {
    const file = fileOf(local);
    const fail = (code: string, error: string): PreviewResult => ({ ok: false, path: local.key, bytes: file.size, error, code });
    if (file.size === 0) return fail('EMPTY_FILE', 'the file is empty');
    if (file.size > DEFAULT_RULES.maxBytes) return fail('FILE_TOO_LARGE', `the file is above the limit of ${DEFAULT_RULES.maxBytes / 1024 / 1024} MiB`);
    const format = detectFormat(new Uint8Array(await file.slice(0, 16).arrayBuffer()));
    if (format === null) return fail('UNSUPPORTED_TYPE', 'not a JPEG, PNG or WebP image (judged by its content, not its name)');
    let bitmap: ImageBitmap;
    try {
      // EXIF orientation applied, like the backend's autoOrient.
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      return fail('CORRUPT_IMAGE', 'corrupt or truncated image data (the browser could not decode it)');
    }
    const original = { width: bitmap.width, height: bitmap.height };
    if (original.width * original.height > DEFAULT_RULES.maxPixels) {
      bitmap.close();
      return fail('TOO_MANY_PIXELS', `${original.width}x${original.height} is above the limit of ${DEFAULT_RULES.maxPixels / 1e6} megapixels`);
    }
    const thumb = fitInside(original, { maxWidth: PREVIEW_BOX, maxHeight: PREVIEW_BOX });
    const canvas = new OffscreenCanvas(thumb.width, thumb.height);
    const context = canvas.getContext('2d');
    if (!context) {
      bitmap.close();
      return fail('INTERNAL', 'no 2D canvas available');
    }
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, thumb.width, thumb.height);
    bitmap.close();
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.75 });
    return {
      ok: true,
      path: local.key,
      dataUrl: URL.createObjectURL(blob),
      format,
      bytes: file.size,
      original,
      target: fitInside(original, DEFAULT_RULES),
    };
  };

  // Decoding 12-MP photos is heavy: a few at a time.
  let previewsRunning = 0;
  const previewQueue: Array<() => void> = [];
  const withPreviewSlot = async <T>(task: () => Promise<T>): Promise<T> => {
    if (previewsRunning >= 2) await new Promise<void>((resolve) => previewQueue.push(resolve));
    previewsRunning++;
    try {
      return await task();
    } finally {
      previewsRunning--;
      previewQueue.shift()?.();
    }
  };

  return {
    kind: 'browser',
    capabilities: { localResize: false, chooseFolder: false, openFolder: false, notifications: false },

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

    pickFiles({ folders }) {
      return new Promise((resolve) => {
        const input = document.createElement('input');
        input.type = 'file';
        input.multiple = true;
        if (folders) input.webkitdirectory = true;
        else input.accept = '.jpg,.jpeg,image/jpeg';
        input.addEventListener('change', () => resolve(register([...(input.files ?? [])])));
        input.addEventListener('cancel', () => resolve(null));
        input.click();
      });
    },
    async filesFromDrop(data) {
      const entries = [...data.items].map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
      if (entries.length === 0) return register([...data.files]);
      const collected: File[] = [];
      await Promise.all(entries.map((entry) => collectEntry(entry, collected)));
      return register(collected);
    },

    preview: (file) => withPreviewSlot(() => makePreview(file)),

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
      for (const item of items) {
        let outcome: WriteOutcome;
        try {
          const image = await json<ImageSummary>(`/api/v1/images/${item.id}`);
          const blob = await (await request(`/api/v1/images/${item.id}/processed`)).blob();
          const { base, ext } = splitName(item.name);
          const name = renderName(stored().namingTemplate, { name: base, ext, width: image.width ?? 0, height: image.height ?? 0, id: item.id });
          const url = URL.createObjectURL(blob);
          const link = document.createElement('a');
          link.href = url;
          link.download = name;
          link.click();
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
        overview = await json<MetricsOverview>('/api/v1/metrics');
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

/** Walks a dropped folder (readEntries returns at most 100 entries per call). */
async function collectEntry(entry: FileSystemEntry, out: File[]): Promise<void> {
  if (entry.isFile) {
    out.push(await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const child of batch) await collectEntry(child, out);
  }
}
