/**
 * The JSON shapes of the backend's HTTP API (/api/v1 and the earlier routes).
 * Clients (the desktop app, the browser UI, tests) import these types so the
 * two sides cannot drift apart silently. Type-only: no runtime code here.
 */
import type { OutputFormat, OutputLimits, OutputOptions } from '../contract/output-options.js';

/** Server-side life of an image. `queued` and `uploading` exist only in clients. */
export type ImageStatus = 'pending' | 'processing' | 'completed' | 'failed';

export interface ImageSummary {
  id: number;
  batchId: string;
  filename: string;
  /** Detected from the bytes (image/jpeg, image/png, image/webp); null when unrecognised. */
  contentType: string | null;
  status: ImageStatus;
  /** Human-readable reason when failed. */
  error: string | null;
  /** Stable machine code when failed (EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_TYPE, TOO_MANY_PIXELS, CORRUPT_IMAGE, WORKER_CRASHED, …). */
  errorCode: string | null;
  originalBytes: number | null;
  processedBytes: number | null;
  originalWidth: number | null;
  originalHeight: number | null;
  width: number | null;
  height: number | null;
  attempts: number;
  workerId: string | null;
  uploadedAt: string;
  startedAt: string | null;
  processedAt: string | null;
  processingMs: number | null;
  /** The output options it is (was) made with; null for images stored before options existed (the server's rules). */
  options: OutputOptions | null;
  /** Its path below the folder it was dropped with (`trip/day 1/IMG_1.JPG`), when it came from one. */
  sourcePath: string | null;
}

/** One multipart part's outcome. Rejected parts are stored as `failed` with their reason. */
export interface UploadFileResult {
  id: number;
  filename: string;
  status: ImageStatus;
  error?: string;
  code?: string;
}

/** 202 from POST /api/v1/images (and the earlier POST /upload, which adds `message`). */
export interface UploadResponse {
  message: string;
  batchId: string;
  accepted: number;
  rejected: number;
  images: UploadFileResult[];
  /** The output options every image of this request is made with (the server's defaults filled in). */
  options?: OutputOptions;
  /** Files past MAX_FILES_PER_UPLOAD: not read, each with its reason. */
  notRead?: { filename: string; code: string; error: string }[];
}

/** GET /api/v1/config: what a client needs to validate and preview exactly as the server will. */
export interface ServerConfig {
  version: string;
  /** The options an upload without any gets (the earlier system's unless the server is configured otherwise). */
  defaults: OutputOptions;
  limits: OutputLimits & {
    maxUploadBytes: number;
    maxPixels: number;
    maxFilesPerUpload: number;
    /** Decode memory one image may need (width × height × bands × bytes per band). */
    decodeMemoryBytes: number;
  };
  presets: readonly { label: string; width: number; height: number }[];
  formats: readonly OutputFormat[];
}

export interface ImageListResponse {
  images: ImageSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface BatchSummary {
  batchId: string;
  total: number;
  pending: number;
  processing: number;
  completed: number;
  failed: number;
}

/** 200 from DELETE /api/v1/batches/:batchId: the images deleted, by the status they had. */
export interface BatchDeletion {
  batchId: string;
  deleted: number;
  pending: number;
  processing: number;
  completed: number;
  failed: number;
}

/** Pushed on GET /api/v1/events as `event: status`, from whichever process changed the image. */
export interface StatusEvent {
  id: number;
  batchId: string;
  filename: string;
  status: ImageStatus;
  error: string | null;
  errorCode: string | null;
  width: number | null;
  height: number | null;
  workerId: string | null;
  processingMs: number | null;
  /** ISO time of the change. */
  at: string;
}

/** GET /api/v1/stats and GET /dashboard (the earlier dashboard's figures and more). */
export interface Stats {
  total: number;
  pending: number;
  processing: number;
  completed: number;
  failed: number;
  /** Worker threads busy in this process. */
  activeThreads: number;
  /** Worker threads in this process. */
  totalThreads: number;
  /** Images waiting for a worker (pending), cluster-wide. */
  queueSize: number;
  /** Mean processing time of completed images, milliseconds. */
  avgProcessingMs: number | null;
  /** Images this process has completed since it started. */
  processedCount: number;
  pod: string;
  recent: ImageSummary[];
}

/** GET /status/:id/json (earlier route). */
export interface LegacyStatus {
  status: ImageStatus;
  processed_at: string | null;
  /** Why the image failed; null otherwise. */
  error: string | null;
}

/** Every error response. */
export interface ApiErrorBody {
  error: string;
  code: string;
}
