/**
 * The main window's state: one card per file, from "queued" on this machine
 * to "completed" or "failed" on the cluster. Pure logic (no DOM), so it is
 * unit-tested in Node.
 *
 * Status events can arrive before the upload's response (a small image may
 * be processed before the HTTP answer gets back), twice (after a reconnect
 * the batch is re-read), or out of order (from different pods). So events for
 * unknown ids are kept until the id is known, and an event older than what a
 * card already shows is ignored.
 */
import type { ImageSummary, StatusEvent, UploadOutcome, UploadProgress, PreviewResult } from '../platform/platform.js';
import type { LocalFile } from '../platform/platform.js';
import { isRejection, keepsIdempotencyKey, newIdempotencyKey } from '../../shared/api-policy/index.js';
import { newBatchId } from './batch-id.js';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import { targetSize, type Size } from '@imgfleet/backend/imaging/rules';

export type CardStatus = 'queued' | 'uploading' | 'pending' | 'processing' | 'completed' | 'failed';

export type CardPreview =
  | { state: 'loading' }
  | { state: 'ready'; src: string; original: Size; target: Size; format: string }
  | { state: 'failed'; error: string; code: string };

export interface Card {
  key: string;
  file: LocalFile;
  preview: CardPreview;
  status: CardStatus;
  /** Upload progress 0–1 while uploading. */
  progress: number;
  /** The backend's image id, once uploaded. */
  id: number | null;
  error: string | null;
  errorCode: string | null;
  /** Result size, when completed. */
  result: { width: number; height: number } | null;
  /** The result's bytes: the server's (once completed) or the local resize's. */
  resultBytes: number | null;
  /** What happened to it on this machine: "saved to …", or why a local resize failed. */
  note: { text: string; error: boolean } | null;
  /** Time (ms) and rank of the last server status applied, to ignore stale events. */
  statusAt: number | null;
  /**
   * Refused for its content, so it can only fail again: by the check on this
   * computer (never uploaded) or by the backend when it was uploaded. No
   * upload and no Retry for it.
   */
  rejectedBy: 'computer' | 'server' | null;
  /** The Idempotency-Key of its upload request while that request has had no answer (see api-policy/idempotency). */
  uploadKey: string | null;
}

const RANK: Record<CardStatus, number> = { queued: 0, uploading: 1, pending: 2, processing: 3, completed: 4, failed: 4 };
const TERMINAL: ReadonlySet<CardStatus> = new Set(['completed', 'failed']);

export type Counts = Record<CardStatus, number> & { total: number };

type Listener = (changed: ReadonlySet<string>, structural: boolean) => void;

export class BatchStore {
  batchId: string;
  private readonly cards = new Map<string, Card>();
  private readonly keyById = new Map<number, string>();
  private readonly early = new Map<number, StatusEvent>();
  private readonly listeners = new Set<Listener>();
  private changed = new Set<string>();
  private structural = false;
  private scheduled = false;

  /** The batch's output options (the panel's): every card's promised size follows them. */
  options: OutputOptions = { ...DEFAULT_OUTPUT_OPTIONS };

  constructor(batchId: string = newBatchId()) {
    this.batchId = batchId;
  }

  setOptions(options: OutputOptions): void {
    this.options = options;
    this.touch([...this.cards.keys()]);
  }

  /**
   * The size the batch's options make of this card's photo: the server's
   * own function (targetSize, shrink-on-load and rounding as sharp does) on
   * the oriented size, so the card promises exactly what comes back.
   */
  targetOf(card: Card): Size | null {
    if (card.preview.state !== 'ready') return null;
    return targetSize({ ...card.preview.original, format: card.preview.format }, this.options);
  }

  setResultBytes(key: string, bytes: number): void {
    const card = this.cards.get(key);
    if (!card) return;
    card.resultBytes = bytes;
    this.touch([key]);
  }

  /** The cards with a result's bytes: their originals' and results' totals. */
  savings(): { files: number; originalBytes: number; resultBytes: number } {
    let files = 0;
    let originalBytes = 0;
    let resultBytes = 0;
    for (const card of this.cards.values()) {
      if (card.resultBytes === null) continue;
      files++;
      originalBytes += card.file.size;
      resultBytes += card.resultBytes;
    }
    return { files, originalBytes, resultBytes };
  }

  list(): Card[] {
    return [...this.cards.values()];
  }

  get(key: string): Card | undefined {
    return this.cards.get(key);
  }

  get size(): number {
    return this.cards.size;
  }

  /** Adds files not already present; returns the new cards. */
  addFiles(files: readonly LocalFile[]): Card[] {
    const added: Card[] = [];
    for (const file of files) {
      if (this.cards.has(file.key)) continue;
      const card: Card = {
        key: file.key,
        file,
        preview: { state: 'loading' },
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
      };
      this.cards.set(file.key, card);
      added.push(card);
    }
    if (added.length > 0) this.touch(added.map((c) => c.key), true);
    return added;
  }

  setPreview(key: string, preview: PreviewResult): void {
    const card = this.cards.get(key);
    if (!card) return;
    card.preview = preview.ok
      ? { state: 'ready', src: preview.dataUrl, original: preview.original, target: preview.target, format: preview.format }
      : { state: 'failed', error: preview.error, code: preview.code };
    // The local check applies the backend's rules: a file it refuses would only be refused again.
    if (!preview.ok && isRejection(preview.code) && card.status === 'queued' && card.id === null) {
      card.status = 'failed';
      card.errorCode = preview.code;
      card.rejectedBy = 'computer';
    }
    this.touch([key]);
  }

  /** Cards that can be uploaded now: never uploaded, or whose upload did not reach the backend; never what was refused for its content. */
  uploadable(): Card[] {
    return this.list().filter((c) => c.id === null && c.rejectedBy === null && (c.status === 'queued' || c.status === 'failed'));
  }

  /** Failed for a reason another try may cure (not refused for its content). */
  retryable(card: Card): boolean {
    return card.status === 'failed' && card.rejectedBy === null;
  }

  markUploading(keys: readonly string[]): void {
    for (const key of keys) {
      const card = this.cards.get(key);
      if (!card) continue;
      card.status = 'uploading';
      card.uploadKey ??= newIdempotencyKey();
      card.progress = 0;
      card.error = null;
      card.errorCode = null;
    }
    this.touch(keys);
  }

  uploadProgress(progress: UploadProgress): void {
    const card = this.cards.get(progress.key);
    if (!card || card.status !== 'uploading') return;
    card.progress = progress.total > 0 ? Math.min(1, progress.loaded / progress.total) : 0;
    this.touch([progress.key]);
  }

  uploadResult(outcome: UploadOutcome): void {
    const card = this.cards.get(outcome.key);
    if (!card) return;
    // Unanswered, the backend may have it: the next try is the same request. Answered: a new one.
    if (outcome.ok || !keepsIdempotencyKey(outcome.code)) card.uploadKey = null;
    if (!outcome.ok) {
      // Cancelled uploads go back to the queue; other failures show their reason.
      card.status = outcome.cancelled ? 'queued' : 'failed';
      card.error = outcome.cancelled ? null : outcome.error;
      card.errorCode = outcome.cancelled ? null : outcome.code;
      card.progress = 0;
      this.touch([card.key]);
      return;
    }
    const { result } = outcome;
    card.id = result.id;
    card.progress = 1;
    // Failed in the upload's own answer: refused for its content before it was queued.
    if (result.status === 'failed') card.rejectedBy = 'server';
    this.keyById.set(result.id, card.key);
    if (card.statusAt === null || RANK[result.status] >= RANK[card.status]) {
      card.status = result.status;
      card.error = result.error ?? null;
      card.errorCode = result.code ?? null;
    }
    const pending = this.early.get(result.id);
    if (pending) {
      this.early.delete(result.id);
      this.applyStatus(pending);
    }
    this.touch([card.key]);
  }

  /** Applies a live status event; returns the card's key, or null when the event is stale or not ours yet. */
  applyStatus(event: StatusEvent): string | null {
    if (event.batchId !== this.batchId) return null;
    const key = this.keyById.get(event.id);
    if (key === undefined) {
      const held = this.early.get(event.id);
      if (!held || Date.parse(held.at) <= Date.parse(event.at)) this.early.set(event.id, event);
      return null;
    }
    const card = this.cards.get(key);
    if (!card) return null;
    const at = Date.parse(event.at);
    if (!this.isNewer(card, event.status, at)) return null;
    card.status = event.status;
    card.statusAt = at;
    card.error = event.error;
    card.errorCode = event.errorCode;
    card.result = event.status === 'completed' && event.width && event.height ? { width: event.width, height: event.height } : card.result;
    this.touch([key]);
    return key;
  }

  /** The backend ids of this batch's cards (those uploaded). */
  knownIds(): number[] {
    return [...this.keyById.keys()];
  }

  /** Brings cards up to date from a full listing (after a reconnect, events may have been missed). */
  reconcile(images: readonly ImageSummary[]): void {
    for (const image of images) {
      const key = this.keyById.get(image.id);
      const card = key === undefined ? undefined : this.cards.get(key);
      if (card && image.status === 'completed' && image.processedBytes !== null && card.resultBytes !== image.processedBytes) {
        card.resultBytes = image.processedBytes;
        this.touch([card.key]);
      }
      const at = image.processedAt ?? image.startedAt ?? image.uploadedAt;
      this.applyStatus({
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
        at,
      });
    }
  }

  /** After a successful retry request: the card waits for the cluster again. */
  markRetried(key: string): void {
    const card = this.cards.get(key);
    if (!card) return;
    card.status = 'pending';
    card.error = null;
    card.errorCode = null;
    this.touch([key]);
  }

  /**
   * Images deleted on the server (a batch delete, the retention policy; '*':
   * all of them): their cards go back to the queue, since the photos are
   * still on this computer, and a new upload stores them again. Returns the
   * keys of the cards that went back.
   */
  forgetDeleted(id: number | '*'): string[] {
    const ids = id === '*' ? [...this.keyById.keys()] : [id];
    const keys: string[] = [];
    for (const gone of ids) {
      this.early.delete(gone);
      const key = this.keyById.get(gone);
      if (key === undefined) continue;
      this.keyById.delete(gone);
      const card = this.cards.get(key);
      if (!card) continue;
      card.id = null;
      card.status = 'queued';
      card.progress = 0;
      card.error = null;
      card.errorCode = null;
      card.result = null;
      card.resultBytes = null;
      card.statusAt = null;
      card.rejectedBy = null;
      // Its stored answer names the deleted rows: the next upload is a new request.
      card.uploadKey = null;
      card.note = { text: 'Deleted on the server: Upload sends it again', error: false };
      keys.push(key);
    }
    if (keys.length) this.touch(keys);
    return keys;
  }

  /** A failed card whose upload never reached the backend goes back to the queue. */
  requeue(key: string): void {
    const card = this.cards.get(key);
    if (!card || card.id !== null || card.rejectedBy !== null) return;
    card.status = 'queued';
    card.error = null;
    card.errorCode = null;
    this.touch([key]);
  }

  setNote(key: string, text: string, error = false): void {
    const card = this.cards.get(key);
    if (!card) return;
    card.note = { text, error };
    this.touch([key]);
  }

  remove(key: string): void {
    const card = this.cards.get(key);
    if (!card) return;
    this.cards.delete(key);
    if (card.id !== null) this.keyById.delete(card.id);
    this.touch([key], true);
  }

  /** Empties the window and starts a new batch id. */
  clear(): void {
    const keys = [...this.cards.keys()];
    this.cards.clear();
    this.keyById.clear();
    this.early.clear();
    this.batchId = newBatchId();
    this.touch(keys, true);
  }

  counts(): Counts {
    const counts: Counts = { total: 0, queued: 0, uploading: 0, pending: 0, processing: 0, completed: 0, failed: 0 };
    for (const card of this.cards.values()) {
      counts.total++;
      counts[card.status]++;
    }
    return counts;
  }

  /** Cards sent to the backend that have not reached completed/failed yet. */
  inFlight(): number {
    let n = 0;
    for (const card of this.cards.values()) if (card.status === 'uploading' || ((card.status === 'pending' || card.status === 'processing') && card.id !== null)) n++;
    return n;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivers pending change notifications now (tests; the UI waits for a microtask). */
  flush(): void {
    this.scheduled = false;
    if (this.changed.size === 0 && !this.structural) return;
    const changed = this.changed;
    const structural = this.structural;
    this.changed = new Set();
    this.structural = false;
    for (const listener of this.listeners) listener(changed, structural);
  }

  private isNewer(card: Card, status: CardStatus, at: number): boolean {
    if (card.statusAt === null || Number.isNaN(at)) return true;
    if (at > card.statusAt) return true;
    // Same millisecond: a small image can go processing → completed within one; trust the later stage.
    return at === card.statusAt && RANK[status] > RANK[card.status] && !TERMINAL.has(card.status);
  }

  private touch(keys: Iterable<string>, structural = false): void {
    for (const key of keys) this.changed.add(key);
    if (structural) this.structural = true;
    if (this.scheduled) return;
    this.scheduled = true;
    // Many events arrive together (a batch of progress updates): notify once for all of them.
    queueMicrotask(() => this.flush());
  }
}
