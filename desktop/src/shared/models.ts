/**
 * Plain data that crosses the IPC boundary (and the browser adapter's
 * boundary): structured-clone safe, no classes, no functions.
 */
import type {
  BatchDeletion,
  BatchListItem,
  BatchListResponse,
  DeletedEvent,
  ImageSummary,
  MetricsHealth,
  MetricsOverview as ServerMetricsOverview,
  PodHistory,
  PodMetrics,
  ServerConfig as ServedConfig,
  Stats,
  StatusEvent,
  UploadFileResult,
} from '@imgfleet/backend/contract';
import type { OutputFormat, OutputOptions } from '@imgfleet/backend/contract/output-options';
import type { FileOutcome, FileProgress, UploadTally } from './api-policy/index.js';

export type { BatchDeletion, BatchListItem, BatchListResponse, DeletedEvent, Stats, UploadFileResult, ImageSummary, StatusEvent, OutputFormat, OutputOptions };

/** A server's GET /api/v1/config (the contract's one type), or the built-in one when offline or the server is older. */
export type ServerConfig = ServedConfig & {
  /** 'server': read from the backend; 'offline': the built-in defaults. */
  source: 'server' | 'offline';
};

export interface Size {
  width: number;
  height: number;
}

export interface Settings {
  /** Base URL of the backend (http or https), without a trailing /api/v1. */
  backendUrl: string;
  /** Bearer token; empty when the backend runs without API_TOKEN. */
  apiToken: string;
  /** Where downloads and local resizes go; empty until the person chooses one. */
  outputFolder: string;
  /** Output file name; tokens {name} {width} {height} {id} {ext}. */
  namingTemplate: string;
  /** Files uploaded at the same time. */
  uploadConcurrency: number;
  /** The batch's output options (the options panel); `template` is kept equal to namingTemplate. */
  outputOptions: OutputOptions;
  /** Results written on this computer get their original's modification time. */
  keepDates: boolean;
  /** A folder whose new photos are processed (main/watch-control.ts); empty: none. Set only through a folder dialog. */
  watchFolder: string;
  /** What the watched folder does with a new photo: upload it and save the result, or resize it here. */
  watchMode: 'upload' | 'local';
}

/** What the renderer may change directly; the output folder is only set through a folder dialog. */
export type SettingsPatch = Partial<
  Pick<Settings, 'backendUrl' | 'apiToken' | 'namingTemplate' | 'uploadConcurrency' | 'outputOptions' | 'keepDates' | 'watchMode'>
>;

/**
 * A batch as an app remembers it between runs (the desktop's session file,
 * the page's local storage): which batch, and the files it holds. What the
 * server did with them is not kept: it is read again from the server.
 */
export interface SavedBatch {
  batchId: string;
  files: SavedFile[];
}

export interface SavedFile {
  key: string;
  name: string;
  size: number;
  /** The file on this computer (desktop): linked again on restore when it is still there with the same size. */
  path?: string;
  relativePath?: string;
  /** The backend's id, once uploaded. */
  id: number | null;
  /** The Idempotency-Key of an upload that got no answer: the server may hold the file (see BatchStore.adopt). */
  uploadKey?: string;
  /** On restore: whether this computer (this page) has the file now. */
  present?: boolean;
}

export interface ScannedFile {
  path: string;
  name: string;
  size: number;
  /** Found by walking a dropped folder: its path from that folder's parent, `/`-separated (`trip/day 1/IMG_1.JPG`). */
  relativePath?: string;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Files seen that are not JPGs (by extension), so the UI can say "12 other files ignored". */
  ignored: number;
  /** Paths that could not be read (permissions, vanished), reported rather than thrown. */
  unreadable: string[];
}

export type PreviewResult =
  | {
      ok: true;
      path: string;
      /** A small JPEG as a data: URL (allowed by the CSP's img-src). */
      dataUrl: string;
      format: string;
      bytes: number;
      /** As stored, after the EXIF orientation is applied. */
      original: Size;
      /** What the resize rules will produce: exactly the backend's output size. */
      target: Size;
      /** The picture is a labelled stand-in (a browser decodes no HEIC or TIFF): the result's picture replaces it once there is one. */
      standIn?: boolean;
    }
  | { ok: false; path: string; bytes: number | null; error: string; code: string };

export interface FileRef {
  /** The renderer's key for the file (its card). */
  key: string;
  path: string;
  /**
   * The file's path relative to the dropped folder (`trip/day 1/IMG_1.JPG`),
   * when it came from a folder drop: sent as the multipart file name and used
   * to recreate the folders (keepFolders).
   */
  relativePath?: string;
  /**
   * Uploads only: the Idempotency-Key to send. The renderer passes the key of
   * an earlier request of this file that got no answer (so the person's
   * Retry is recognised as the same request); otherwise a new one is made.
   */
  idempotencyKey?: string;
}

/** One file's upload progress (`attempt`: 1 for the first try, 2+ for the retries). */
export type UploadProgress = FileProgress;

/** One file's upload outcome: the backend's answer for it, or why there is none. */
export type UploadOutcome = FileOutcome<UploadFileResult>;

/** An upload's counts (accepted, rejected by the backend, failed to reach it, cancelled) and every outcome, in file order. */
export type UploadSummary = UploadTally<UploadFileResult>;

export interface DownloadItem {
  key: string;
  id: number;
  /** The original file name, for the naming template's {name} and {ext}; a relative path (`trip/IMG_1.JPG`) keeps its folders. */
  name: string;
  /** Position in the batch from 1, for {index}. */
  index?: number;
}

export type WriteOutcome =
  /** skipped: the name was taken and the collision policy is `skip` (path: the existing file, left as it was). */
  | {
      key: string;
      ok: true;
      path: string;
      width: number;
      height: number;
      bytes: number;
      skipped?: boolean;
      /** The quality maxBytes chose. */ quality?: number;
    }
  | { key: string; ok: false; error: string; code: string };

export interface WriteSummary {
  folder: string | null;
  written: number;
  failed: number;
  results: WriteOutcome[];
}

export interface ConnectionState {
  state: 'connecting' | 'open' | 'offline';
  url: string;
  error?: string;
  /** When offline: milliseconds until the next reconnection attempt. */
  retryInMs?: number;
}

/** A figure in a snapshot: numbers, and a few strings (timestamp, pod, node, container-source…). */
export type MetricValue = number | string | null;

/**
 * The metrics API's shapes are the backend's (contract/metrics.ts), imported,
 * not declared again: a pod's state, a pod's history line, the health report.
 */
export type MetricsSample = PodMetrics;
export type MetricsPodHistory = PodHistory;
export type { MetricsHealth };

/**
 * The overview a metrics window starts from: the backend's answer, of which a
 * backend older than this app (or none, when unreachable) leaves out all but
 * the essentials.
 */
export type MetricsOverview = Pick<ServerMetricsOverview, 'pods' | 'periodSeconds' | 'redisConnected'> & {
  /** "redis" (the cluster), "in-process" (one backend, no Redis), or this app's "unreachable"/"none". */
  source: ServerMetricsOverview['source'] | 'unreachable' | 'none';
} & Partial<Pick<ServerMetricsOverview, 'history' | 'serverTime' | 'health' | 'keyPrefix' | 'pod'>>;

/** One message of the metrics stream: a pod's new snapshot or derived figures, a pod that went away, or the sources' health. */
export type MetricsUpdate =
  { type: 'snapshot' | 'derived'; sample: MetricsSample } | { type: 'expired'; pod: string } | { type: 'health'; health: MetricsHealth };

export interface BackendCheck {
  reachable: boolean;
  url: string;
  error?: string;
  /** The server's output defaults and limits (the offline ones when unreachable). */
  config?: ServerConfig;
}

/** What the app menu (and the keyboard shortcuts) can ask the main window to do. */
export type MenuCommand =
  | 'open-files'
  | 'open-folder'
  | 'upload'
  | 'cancel'
  | 'retry-failed'
  | 'download-all'
  | 'choose-folder'
  | 'open-output-folder'
  | 'resize-locally'
  | 'clear'
  | 'settings';

/**
 * Every invoke answers with this envelope rather than a rejected promise:
 * Electron flattens rejections into a message string, and the renderer needs
 * the error code (e.g. OFFLINE) to decide what to show.
 */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { message: string; code: string } };
