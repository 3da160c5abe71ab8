/**
 * One card of the main window: a photo of the batch, from "queued" on this
 * computer to "completed" or "failed" on the cluster. A card may also stand
 * for a photo this computer does not have (any more): one the server holds
 * (a batch restored after a reload, or opened from "Recent batches"), or
 * one that was never uploaded and must be added again.
 */
import { isRejection } from '../../shared/api-policy/index.js';
import type { ImageSummary, LocalFile, SavedFile, StatusEvent } from '../platform/platform.js';
import type { Size } from '@imgfleet/backend/imaging/rules';

export type CardStatus = 'queued' | 'uploading' | 'pending' | 'processing' | 'completed' | 'failed';

export type CardPreview =
  | { state: 'loading' }
  | { state: 'ready'; src: string; original: Size; target: Size; format: string; standIn?: boolean }
  | { state: 'failed'; error: string; code: string }
  /** Not on this computer: the server's picture of it (its result, once there is one), or nothing. */
  | { state: 'elsewhere'; src: string | null; original: Size | null };

export interface Card {
  key: string;
  file: LocalFile;
  /** Whether this computer (this page) has the file: only then can it be previewed, uploaded or resized here. */
  local: boolean;
  preview: CardPreview;
  status: CardStatus;
  /** Upload progress 0–1 while uploading. */
  progress: number;
  /** The backend's image id, once uploaded. */
  id: number | null;
  error: string | null;
  errorCode: string | null;
  /** Result size, when completed. */
  result: Size | null;
  /** The result's bytes: the server's (once completed) or the local resize's. */
  resultBytes: number | null;
  /** What happened to it on this machine: "saved to …", or why a local resize failed. */
  note: { text: string; error: boolean } | null;
  /** Time (ms) of the last server status applied, to ignore stale events. */
  statusAt: number | null;
  /**
   * Refused for its content, so it can only fail again: by the check on this
   * computer (never uploaded) or by the backend when it was uploaded. No
   * upload and no Retry for it.
   */
  rejectedBy: 'computer' | 'server' | null;
  /** The Idempotency-Key of its upload request while that request has had no answer (see api-policy/idempotency). */
  uploadKey: string | null;
  /** Retries run on the cluster (the person's Retry), so the card can say how the last one went. */
  retries: number;
}

export const RANK: Record<CardStatus, number> = { queued: 0, uploading: 1, pending: 2, processing: 3, completed: 4, failed: 4 };
export const TERMINAL: ReadonlySet<CardStatus> = new Set(['completed', 'failed']);

export function newCard(file: LocalFile, local = true): Card {
  return {
    key: file.key,
    file,
    local,
    preview: local ? { state: 'loading' } : { state: 'elsewhere', src: null, original: null },
    status: 'queued',
    progress: 0,
    id: null,
    error: null,
    errorCode: null,
    result: null,
    resultBytes: null,
    note: null,
    statusAt: null,
    rejectedBy: null,
    uploadKey: null,
    retries: 0,
  };
}

/**
 * How the server names a file it was sent: its folders below the dropped
 * folder and its name (`trip/day 1/IMG_1.JPG`), or its name alone; with
 * the size, what tells a listed image and a file on this computer apart.
 */
export function serverPathOf(file: Pick<LocalFile, 'name' | 'relativePath'>): string {
  return file.relativePath ?? file.name;
}

/**
 * Failed for a reason another try may cure: not refused for its content,
 * by the check here, on upload, or by the decoder on the cluster
 * (EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_TYPE, TOO_MANY_PIXELS,
 * CORRUPT_IMAGE: the backend's imaging errors but TIMEOUT, which a less
 * busy pod may not meet); and, not uploaded yet, only with its file.
 */
export function canRetry(card: Card): boolean {
  return card.status === 'failed' && card.rejectedBy === null && !isRejection(card.errorCode) && (card.id !== null || card.local);
}

/** A listed image as the status event it stands for. */
export function statusOfListed(image: ImageSummary): StatusEvent {
  return {
    id: image.id,
    batchId: image.batchId,
    filename: image.filename,
    status: image.status,
    error: image.error,
    errorCode: image.errorCode,
    width: image.width,
    height: image.height,
    workerId: image.workerId,
    processingMs: image.processingMs,
    at: image.processedAt ?? image.startedAt ?? image.uploadedAt,
  };
}

/** A card for a listed image this computer has no file of. */
export function serverCard(batchId: string, image: ImageSummary): Card {
  const file: LocalFile = {
    key: `server:${batchId}:${image.id}`,
    name: image.filename,
    size: image.originalBytes ?? 0,
    ...(image.sourcePath ? { relativePath: image.sourcePath } : {}),
  };
  const card = newCard(file, false);
  const original = image.originalWidth && image.originalHeight ? { width: image.originalWidth, height: image.originalHeight } : null;
  card.preview = { state: 'elsewhere', src: null, original };
  return card;
}

/** A card for a remembered file: with it when this computer has it again, otherwise asking for it when it was never uploaded. */
export function savedCard(entry: SavedFile): Card {
  const file: LocalFile = {
    key: entry.key,
    name: entry.name,
    size: entry.size,
    ...(entry.path ? { path: entry.path } : {}),
    ...(entry.relativePath ? { relativePath: entry.relativePath } : {}),
  };
  const card = newCard(file, entry.present === true);
  card.uploadKey = entry.uploadKey ?? null;
  if (entry.id === null && !card.local) card.note = { text: 'Not on this computer any more: add it again (pick or drop it) to upload it', error: false };
  return card;
}

/** What is remembered of a card (the server's side of it is read again). */
export function savedFileOf(card: Card): SavedFile {
  return {
    key: card.key,
    name: card.file.name,
    size: card.file.size,
    ...(card.file.path ? { path: card.file.path } : {}),
    ...(card.file.relativePath ? { relativePath: card.file.relativePath } : {}),
    id: card.id,
    ...(card.uploadKey ? { uploadKey: card.uploadKey } : {}),
  };
}
