/**
 * What the UI needs from its host, and nothing more. In Electron the main
 * process does the work (through the preload's window.imgfleet); served by
 * the backend, the browser adapter does it with fetch, XHR, canvas and
 * download links. `capabilities` tells the UI which desktop-only features to
 * hide in a browser.
 */
import type { ComparePictures } from '../../shared/compare.js';
import type {
  BackendCheck,
  BatchListResponse,
  ConnectionState,
  DeletedEvent,
  ImageSummary,
  MenuCommand,
  MetricsOverview,
  MetricsUpdate,
  OutputOptions,
  PreviewResult,
  SavedBatch,
  Settings,
  SettingsPatch,
  Size,
  Stats,
  StatusEvent,
  UploadOutcome,
  UploadProgress,
  UploadSummary,
  WriteOutcome,
  WriteSummary,
} from '../../shared/models.js';

// Everything the renderer needs from the shared models comes through this module.
export type * from '../../shared/models.js';
export type { ComparePictures };

/** A file the person added. `key` is unique within the batch. */
export interface LocalFile {
  key: string;
  name: string;
  size: number;
  /** Full path (Electron only): shown as a tooltip. */
  path?: string;
  /** From a folder drop: the path from the dropped folder's parent (`trip/day 1/IMG_1.JPG`); kept by keepFolders. */
  relativePath?: string;
}

/** A file to upload, with the Idempotency-Key of an earlier request of it that got no answer. */
export type UploadItem = LocalFile & { idempotencyKey?: string };

export interface AddedFiles {
  files: LocalFile[];
  /** Non-JPG files that were skipped. */
  ignored: number;
  /** Files or folders that could not be read (permissions, vanished while walking). */
  unreadable?: string[];
}

/**
 * A live stream's state. `code` UNAUTHORIZED: the backend refused the API
 * token (or wants one), so the UI asks for it instead of saying "offline".
 */
export type LiveConnection = ConnectionState & { code?: 'UNAUTHORIZED' };

/** What a batch's live stream reports; see Platform.watchEvents. */
export interface BatchEventHandlers {
  onStatus: (e: StatusEvent) => void;
  onDeleted: (e: DeletedEvent) => void;
  onConnection: (c: LiveConnection) => void;
}

export interface Capabilities {
  /** Resize on this machine with the backend's own function (needs Node and sharp). */
  localResize: boolean;
  /** Pick an output folder and write results into it. */
  chooseFolder: boolean;
  /** Show the output folder in the file manager. */
  openFolder: boolean;
  /** Desktop notifications handled by the host. */
  notifications: boolean;
  /** "Download all" is one archive of the batch (a browser: one ZIP download, not one per file). */
  batchArchive: boolean;
  /**
   * Results are named when they are uploaded (the server's stored options:
   * the page's downloads and ZIP); otherwise when they are saved (the
   * desktop names what it writes with the current template).
   */
  namedAtUpload: boolean;
}

export interface Platform {
  readonly kind: 'electron' | 'browser';
  readonly capabilities: Capabilities;

  getSettings(): Promise<Settings>;
  updateSettings(patch: SettingsPatch): Promise<Settings>;

  /** Opens a file (or folder) picker; null when cancelled. */
  pickFiles(options: { folders: boolean }): Promise<AddedFiles | null>;
  /** The JPGs in a drop (folders searched recursively). */
  filesFromDrop(data: DataTransfer): Promise<AddedFiles>;

  preview(file: LocalFile): Promise<PreviewResult>;

  upload(batchId: string, files: UploadItem[], on: { progress: (p: UploadProgress) => void; result: (o: UploadOutcome) => void }): Promise<UploadSummary>;
  cancelUploads(): Promise<number>;

  listBatch(batchId: string): Promise<ImageSummary[]>;
  /** Of these ids, those the backend no longer has (deleted); throws when it cannot tell (offline …). */
  imagesGone(ids: number[]): Promise<number[]>;
  retry(id: number): Promise<void>;
  remove(id: number): Promise<void>;
  /**
   * The before/after view's pictures: the original (`file`, when here) and
   * the result (`id`: completed on the cluster), else an offline preview of
   * it at `target` with `options`.
   */
  comparePictures(request: { file: LocalFile | null; id: number | null; options: OutputOptions; target: Size | null }): Promise<ComparePictures>;
  /** A picture of an image's result, for a card whose file this computer does not have (an img src). */
  resultPicture(id: number): Promise<string>;

  /** A page of the backend's batches, the latest first. */
  listBatches(page: { limit: number; offset: number }): Promise<BatchListResponse>;
  deleteBatch(batchId: string): Promise<void>;
  /** Remembers the batch the window shows: the desktop for its next start, the page in its address and this browser's storage. */
  saveSession(batch: SavedBatch): Promise<void>;
  /** The batch to show at start (null: a new one), each file marked present when this computer (this page) has it. */
  restoreSession(): Promise<SavedBatch | null>;

  /** Saves results (into the output folder, or as browser downloads). folder null: the person cancelled. */
  download(items: { key: string; id: number; name: string; index?: number }[], onResult: (o: WriteOutcome) => void): Promise<WriteSummary>;
  /** Saves the batch's completed results `ids` (those still on the page; all of them when absent) as one archive (capabilities.batchArchive); returns its file name. */
  downloadArchive(batchId: string, ids?: number[]): Promise<{ name: string }>;
  resizeLocally(files: LocalFile[], onResult: (o: WriteOutcome) => void, batchId?: string): Promise<WriteSummary>;
  chooseFolder(): Promise<string | null>;
  /** Chooses the watched folder (a folder dialog) or stops watching; returns the folder watched now ('' for none). Desktop only. */
  watchFolder(action: 'choose' | 'stop'): Promise<string>;
  openFolder(): Promise<void>;

  /**
   * Live status changes of a batch, and deletions on the server (any
   * batch's; ids not held are for the caller to ignore); returns a function
   * that stops watching.
   */
  watchEvents(batchId: string, handlers: BatchEventHandlers): () => void;
  watchMetrics(onUpdate: (u: MetricsUpdate) => void, onConnection: (c: LiveConnection) => void): Promise<{ overview: MetricsOverview; stop: () => void }>;
  stats(): Promise<Stats>;
  checkBackend(): Promise<BackendCheck>;

  notify(title: string, body: string): Promise<void>;
  openMetricsWindow(): Promise<void>;
  /** Commands from the app menu (Electron only; never fires in a browser). */
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
}

/** A failed platform call, with the code the UI branches on (OFFLINE, CANCELLED, …). */
export class PlatformError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'PlatformError';
    this.code = code;
  }
}

export function errorCode(err: unknown): string {
  return err instanceof PlatformError ? err.code : 'INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
