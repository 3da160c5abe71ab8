/**
 * The Platform over the preload's window.imgfleet (IPC to the main process),
 * put together from one part per feature: files, uploads, results, live
 * streams. Each part is a thin translation: the work is the main process's.
 */
import type { InvokeChannel, EventChannel } from '../../shared/channels.js';
import type { EventPayloads, ImgfleetBridge, InvokeArgs, InvokeResults } from '../../shared/ipc-contract.js';
import type { ConnectionState, ScanResult, WriteOutcome, WriteSummary } from '../../shared/models.js';
import { PlatformError, errorMessage, type AddedFiles, type LiveConnection, type LocalFile, type Platform } from './platform.js';

/** The main process words a refused token as "… (401)"; the UI branches on a code. */
const withCode = (state: ConnectionState): LiveConnection =>
  state.state === 'offline' && (state.error ?? '').includes('(401)') ? { ...state, code: 'UNAUTHORIZED' } : state;

const pathOf = (file: LocalFile): string => file.path ?? file.key;
const fileRef = (file: LocalFile): { key: string; path: string; relativePath?: string } => ({
  key: file.key,
  path: pathOf(file),
  ...(file.relativePath ? { relativePath: file.relativePath } : {}),
});

/** The bridge as typed calls (a refusal becomes a PlatformError) and subscriptions. */
interface Ipc {
  bridge: ImgfleetBridge;
  call: <C extends InvokeChannel>(channel: C, args: InvokeArgs[C]) => Promise<InvokeResults[C]>;
  on: <E extends EventChannel>(channel: E, listener: (payload: EventPayloads[E]) => void) => () => void;
}

function ipcOver(bridge: ImgfleetBridge): Ipc {
  return {
    bridge,
    async call(channel, args) {
      const result = await bridge.invoke(channel, args);
      if (!result.ok) throw new PlatformError(result.error.code, result.error.message);
      return result.value;
    },
    on: (channel, listener) => bridge.on(channel, listener),
  };
}

export function createElectronPlatform(bridge: ImgfleetBridge): Platform {
  const ipc = ipcOver(bridge);
  const { call, on } = ipc;
  return {
    kind: 'electron',
    capabilities: { localResize: true, chooseFolder: true, openFolder: true, notifications: true, batchArchive: false, namedAtUpload: false },

    getSettings: () => call('settings:get', {}),
    updateSettings: (patch) => call('settings:update', patch),
    ...electronFiles(ipc),
    ...electronUploads(ipc),
    ...electronResults(ipc),
    ...electronLive(ipc),
    ...electronBatches(ipc),
    stats: () => call('stats:get', {}),
    checkBackend: () => call('backend:check', {}),

    async notify(title, body) {
      await call('notify', { title, body });
    },
    async openMetricsWindow() {
      await call('window:open-metrics', {});
    },
    onMenuCommand(listener) {
      return on('menu:command', ({ command }) => listener(command));
    },
  };
}

function electronFiles({ bridge, call }: Ipc): Pick<Platform, 'pickFiles' | 'filesFromDrop' | 'preview' | 'comparePictures'> {
  const toAdded = (scan: ScanResult): AddedFiles => ({
    files: scan.files.map((f): LocalFile => ({
      key: f.path,
      name: f.name,
      size: f.size,
      path: f.path,
      ...(f.relativePath ? { relativePath: f.relativePath } : {}),
    })),
    ignored: scan.ignored,
    unreadable: scan.unreadable,
  });
  return {
    async pickFiles({ folders }) {
      const scan = await call('files:pick', { folders });
      return scan ? toAdded(scan) : null;
    },
    async filesFromDrop(data) {
      // Folders arrive as File objects too; their path is the folder's, which the scan walks.
      const paths = [...data.files].map((file) => bridge.pathForFile(file)).filter((p) => p !== '');
      if (paths.length === 0) return { files: [], ignored: data.files.length };
      return toAdded(await call('files:scan', { paths }));
    },
    preview: (file) => call('preview:make', { path: pathOf(file) }),
    // The main process renders the preview with the saved options (as 'preview:make' sizes it): `options` is the page's copy of them.
    comparePictures: ({ file, id }) => call('compare:pictures', { ...(file ? { path: pathOf(file) } : {}), ...(id === null ? {} : { id }) }),
  };
}

function electronUploads({ call, on }: Ipc): Pick<Platform, 'upload' | 'cancelUploads' | 'listBatch' | 'imagesGone' | 'retry' | 'remove'> {
  return {
    async upload(batchId, files, handlers) {
      const waiting = new Set(files.map((f) => f.key));
      // Progress events of other concurrent uploads from this window are not ours to report.
      const offProgress = on('upload:progress', (p) => waiting.has(p.key) && handlers.progress(p));
      const offResult = on('upload:result', (o) => {
        if (waiting.delete(o.key)) handlers.result(o);
      });
      try {
        const refs = files.map((f) => ({ ...fileRef(f), ...(f.idempotencyKey ? { idempotencyKey: f.idempotencyKey } : {}) }));
        const summary = await call('upload:start', { batchId, files: refs });
        // The summary repeats every outcome: none is lost if a pushed one arrives after the reply.
        for (const outcome of summary.outcomes) if (waiting.delete(outcome.key)) handlers.result(outcome);
        return summary;
      } finally {
        offProgress();
        offResult();
      }
    },
    async cancelUploads() {
      return (await call('upload:cancel', {})).cancelled;
    },
    listBatch: (batchId) => call('images:list', { batchId }),
    imagesGone: (ids) => call('images:gone', { ids }),
    async retry(id) {
      await call('images:retry', { id });
    },
    async remove(id) {
      await call('images:delete', { id });
    },
  };
}

function electronResults({ call, on }: Ipc): Pick<Platform, 'download' | 'downloadArchive' | 'resizeLocally' | 'chooseFolder' | 'openFolder' | 'watchFolder'> {
  /** Reports each file's outcome once: as it is pushed, or from the final summary if the push comes late. */
  const withOutcomes = async (
    channel: 'download:progress' | 'resize:progress',
    items: readonly { key: string }[],
    onResult: (outcome: WriteOutcome) => void,
    run: () => Promise<WriteSummary>,
  ): Promise<WriteSummary> => {
    const waiting = new Set(items.map((i) => i.key));
    const off = on(channel, (o) => {
      if (waiting.delete(o.key)) onResult(o);
    });
    try {
      const summary = await run();
      for (const outcome of summary.results) if (waiting.delete(outcome.key)) onResult(outcome);
      return summary;
    } finally {
      off();
    }
  };
  return {
    download(items, onResult) {
      return withOutcomes('download:progress', items, onResult, () => call('download:images', { items }));
    },
    async downloadArchive() {
      throw new PlatformError('UNSUPPORTED', 'the desktop app saves each result into the output folder');
    },
    resizeLocally(files, onResult, batchId) {
      return withOutcomes('resize:progress', files, onResult, () => call('resize:local', { files: files.map(fileRef), ...(batchId ? { batchId } : {}) }));
    },
    async watchFolder(action) {
      return (await call('watch:folder', { action })).folder;
    },
    async chooseFolder() {
      return (await call('folder:choose', {})).folder;
    },
    async openFolder() {
      await call('folder:open', {});
    },
  };
}

function electronBatches({ call }: Ipc): Pick<Platform, 'resultPicture' | 'listBatches' | 'deleteBatch' | 'saveSession' | 'restoreSession'> {
  return {
    resultPicture: async (id) => (await call('images:picture', { id })).dataUrl,
    listBatches: (page) => call('batches:list', page),
    async deleteBatch(batchId) {
      await call('batches:delete', { batchId });
    },
    async saveSession(batch) {
      await call('session:save', { batch: { batchId: batch.batchId, files: batch.files.map(({ present: _present, ...file }) => file) } });
    },
    restoreSession: () => call('session:restore', {}),
  };
}

function electronLive({ call, on }: Ipc): Pick<Platform, 'watchEvents' | 'watchMetrics'> {
  return {
    watchEvents(batchId, { onStatus, onDeleted, onConnection }) {
      const offStatus = on('events:status', (e) => e.batchId === batchId && onStatus(e));
      const offDeleted = on('events:deleted', onDeleted);
      const offConnection = on('events:connection', (c) => onConnection(withCode(c)));
      call('events:watch', { batchId }).catch((err: unknown) => onConnection({ state: 'offline', url: '', error: errorMessage(err) }));
      return () => {
        offStatus();
        offDeleted();
        offConnection();
      };
    },
    async watchMetrics(onUpdate, onConnection) {
      const offUpdate = on('metrics:update', onUpdate);
      const offConnection = on('metrics:connection', (c) => onConnection(withCode(c)));
      const stop = (): void => {
        offUpdate();
        offConnection();
        void call('metrics:unwatch', {}).catch(() => undefined);
      };
      try {
        return { overview: await call('metrics:watch', {}), stop };
      } catch (err) {
        stop();
        throw err;
      }
    },
  };
}
