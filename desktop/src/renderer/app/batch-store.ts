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
import type { ImageSummary, SavedBatch, StatusEvent, UploadOutcome, UploadProgress, PreviewResult } from '../platform/platform.js';
import type { LocalFile } from '../platform/platform.js';
import { isRejection, keepsIdempotencyKey, newIdempotencyKey } from '../../shared/api-policy/index.js';
import { newBatchId } from './batch-id.js';
import { RANK, TERMINAL, canRetry, newCard, savedCard, savedFileOf, serverCard, serverPathOf, statusOfListed, type Card, type CardStatus } from './card.js';
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '@imgfleet/backend/contract/output-options';
import { targetSize, type Size } from '@imgfleet/backend/imaging/rules';

export type { Card, CardPreview, CardStatus } from './card.js';

export type Counts = Record<CardStatus, number> & { total: number };

type Listener = (changed: ReadonlySet<string>, structural: boolean) => void;

export class BatchStore {
  batchId: string;
  private cards = new Map<string, Card>();
  private readonly keyById = new Map<number, string>();
  private readonly early = new Map<number, StatusEvent>();
  /** Keys of cards that may have sent their file without hearing the answer: an index, checked again on use (see unanswered). */
  private readonly mayBeUnanswered = new Set<string>();
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
    if (card.preview.state !== 'ready') return card.result;
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
      if (card.resultBytes === null || card.file.size <= 0) continue;
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

  /**
   * Adds files not already present; returns the new cards. A file that is
   * the one a card is missing (same name and folders, same size) gives that
   * card its file back instead, and is returned with the new ones: it needs
   * its check too.
   */
  addFiles(files: readonly LocalFile[]): Card[] {
    const added: Card[] = [];
    let relinked = false;
    // The cards missing their file, by what tells a file apart; made once per call, when a file needs it.
    let missing: Map<string, Card[]> | null = null;
    const fileId = (f: Pick<LocalFile, 'name' | 'relativePath' | 'size'>): string => `${serverPathOf(f)}\u0000${f.size}`;
    const missingFor = (file: LocalFile): Card | undefined => {
      if (missing === null) {
        const index = new Map<string, Card[]>();
        for (const card of this.cards.values()) {
          if (card.local) continue;
          const group = index.get(fileId(card.file));
          if (group) group.push(card);
          else index.set(fileId(card.file), [card]);
        }
        missing = index;
      }
      const candidates = missing.get(fileId(file)) ?? [];
      // A card given its file back meanwhile (by its key) is taken.
      while (candidates.length > 0) {
        const card = candidates.shift();
        if (card && !card.local) return card;
      }
      return undefined;
    };
    for (const file of files) {
      const same = this.cards.get(file.key);
      if (same) {
        // The very file a card restored without it was made from (same key: same path, size and time).
        if (!same.local) {
          this.relink(same, file);
          relinked = true;
          added.push(same);
        }
        continue;
      }
      const without = missingFor(file);
      if (without) {
        this.relink(without, file);
        relinked = true;
        added.push(without);
        continue;
      }
      const card = newCard(file);
      this.cards.set(file.key, card);
      added.push(card);
    }
    if (added.length > 0 || relinked)
      this.touch(
        added.map((c) => c.key),
        true,
      );
    return added;
  }

  setPreview(key: string, preview: PreviewResult): void {
    const card = this.cards.get(key);
    if (!card) return;
    card.preview = preview.ok
      ? {
          state: 'ready',
          src: preview.dataUrl,
          original: preview.original,
          target: preview.target,
          format: preview.format,
          ...(preview.standIn ? { standIn: true } : {}),
        }
      : { state: 'failed', error: preview.error, code: preview.code };
    // The local check applies the backend's rules: a file it refuses would only be refused again.
    if (!preview.ok && isRejection(preview.code) && card.status === 'queued' && card.id === null) {
      card.status = 'failed';
      card.errorCode = preview.code;
      card.rejectedBy = 'computer';
    }
    this.touch([key]);
  }

  /** A card without its file, or whose preview is a stand-in (standIn), shows the server's picture of it (its result). */
  setServerPicture(key: string, src: string): void {
    const card = this.cards.get(key);
    if (!card) return;
    if (card.preview.state === 'elsewhere') card.preview = { ...card.preview, src };
    else if (card.preview.state === 'ready' && card.preview.standIn) card.preview = { ...card.preview, src, standIn: false };
    else return;
    this.touch([key]);
  }

  /** Cards that can be uploaded now: never uploaded, or whose upload did not reach the backend; never what was refused for its content, nor a file this computer does not have. */
  uploadable(): Card[] {
    return this.list().filter((c) => c.local && c.id === null && c.rejectedBy === null && (c.status === 'queued' || c.status === 'failed'));
  }

  /** Failed for a reason another try may cure (see canRetry). */
  retryable(card: Card): boolean {
    return canRetry(card);
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
    if (!outcome.ok && card.uploadKey !== null) this.mayBeUnanswered.add(card.key);
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
    // Failed in the upload's own answer: refused for its content before it was queued.
    if (result.status === 'failed') card.rejectedBy = 'server';
    this.link(card, result.id);
    card.progress = 1;
    if (card.statusAt === null || RANK[result.status] >= RANK[card.status]) {
      card.status = result.status;
      card.error = result.error ?? null;
      card.errorCode = result.code ?? null;
    }
    this.applyEarly(result.id);
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
    if (card.retries > 0 && TERMINAL.has(event.status)) {
      card.note =
        event.status === 'completed'
          ? { text: 'Completed after Retry', error: false }
          : { text: `Failed again after Retry (${card.retries} ${card.retries === 1 ? 'try' : 'tries'})`, error: true };
    }
    this.touch([key]);
    return key;
  }

  /** Whether a status event names an image no card knows yet, of a file a card may have sent without learning its id. */
  mayBeUnclaimed(event: StatusEvent): boolean {
    // The event names the file, not its folders: the listing that follows tells them apart.
    return event.batchId === this.batchId && !this.keyById.has(event.id) && this.unanswered().some((c) => c.file.name === event.filename);
  }

  /** Whether a card sent its file and heard no answer (the server may hold it: a re-read will tell). */
  awaitingAnswers(): boolean {
    return this.unanswered().length > 0;
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
      // A card without its file learns the photo's size from the server.
      if (card && card.preview.state === 'elsewhere' && card.preview.original === null && image.originalWidth && image.originalHeight) {
        card.preview = { ...card.preview, original: { width: image.originalWidth, height: image.originalHeight } };
        this.touch([card.key]);
      }
      this.applyStatus(statusOfListed(image));
    }
  }

  /**
   * Listed images no card knows: each one of a file a card sent without
   * hearing the answer (Cancel, a reload, no answer: the card still holds the
   * request's key) is linked to that card, matched by name, folders and
   * size; with `keepOthers`, any other becomes a card of its own, without its
   * file (a batch restored or opened from the list). Returns the keys of the
   * cards linked or added.
   */
  adopt(images: readonly ImageSummary[], keepOthers: boolean): string[] {
    const keys: string[] = [];
    for (const image of images) {
      if (this.keyById.has(image.id)) continue;
      const claimant = this.unanswered().find((c) => this.claims(c, image.sourcePath ?? image.filename, image.originalBytes));
      const card = claimant ?? (keepOthers ? this.add(serverCard(this.batchId, image)) : undefined);
      if (!card) continue;
      card.uploadKey = null;
      if (image.status === 'failed' && image.attempts === 0) card.rejectedBy = 'server';
      this.link(card, image.id);
      keys.push(card.key);
    }
    if (keys.length) this.touch(keys, true);
    this.reconcile(images);
    for (const image of images) this.applyEarly(image.id);
    return keys;
  }

  /** After a successful retry request: the card waits for the cluster again. */
  markRetried(key: string): void {
    const card = this.cards.get(key);
    if (!card) return;
    card.status = 'pending';
    card.error = null;
    card.errorCode = null;
    card.retries++;
    card.note = { text: `Retry ${card.retries} sent: back in the cluster's queue`, error: false };
    this.touch([key]);
  }

  /**
   * Images deleted on the server (a batch delete, the retention policy; '*':
   * all of them): their cards go back to the queue, since the photos are
   * still on this computer, and a new upload stores them again (a card
   * without its file says it must be added again). Returns the keys of the
   * cards that went back.
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
      Object.assign(card, {
        id: null,
        status: 'queued',
        progress: 0,
        error: null,
        errorCode: null,
        result: null,
        resultBytes: null,
        statusAt: null,
        rejectedBy: null,
        retries: 0,
      });
      // Its stored answer names the deleted rows: the next upload is a new request.
      card.uploadKey = null;
      card.note = {
        text: card.local ? 'Deleted on the server: Upload sends it again' : 'Deleted on the server, and not on this computer: add it again to upload it',
        error: false,
      };
      if (!card.local) card.preview = { state: 'elsewhere', src: null, original: null };
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
    this.open(newBatchId());
  }

  /**
   * Shows `saved.batchId` with the files remembered for it: those this
   * computer has again as cards of their own, the others as cards that must
   * be added again (or that the server holds; `adopt` and `reconcile` bring
   * the server's side).
   */
  open(batchId: string, saved: SavedBatch['files'] = []): void {
    const keys = [...this.cards.keys()];
    this.cards.clear();
    this.keyById.clear();
    this.early.clear();
    this.mayBeUnanswered.clear();
    this.batchId = batchId;
    for (const entry of saved) {
      const card = this.add(savedCard(entry));
      if (card.uploadKey !== null) this.mayBeUnanswered.add(card.key);
      if (entry.id !== null) this.link(card, entry.id);
    }
    this.touch([...keys, ...this.cards.keys()], true);
  }

  /** What to remember of the batch: which files it holds, and which of them the server has. */
  snapshot(): SavedBatch {
    return {
      batchId: this.batchId,
      files: this.list().map(savedFileOf),
    };
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
    for (const card of this.cards.values())
      if (card.status === 'uploading' || ((card.status === 'pending' || card.status === 'processing') && card.id !== null)) n++;
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

  /** The cards that sent their file and heard no answer (pruning the index of the others). */
  private unanswered(): Card[] {
    const found: Card[] = [];
    for (const key of this.mayBeUnanswered) {
      const card = this.cards.get(key);
      if (card && this.awaitsAnswer(card)) found.push(card);
      else this.mayBeUnanswered.delete(key);
    }
    return found;
  }

  /** Sent its file (it holds the request's key) and heard no answer, and is not sending it now. */
  private awaitsAnswer(card: Card): boolean {
    return card.id === null && card.uploadKey !== null && card.status !== 'uploading';
  }

  /** A card that sent its file without hearing the answer may be the one the server lists as `serverPath` (of `bytes`, when known). */
  private claims(card: Card, serverPath: string, bytes: number | null): boolean {
    return serverPathOf(card.file) === serverPath && (bytes === null || bytes === card.file.size);
  }

  private add(card: Card): Card {
    this.cards.set(card.key, card);
    return card;
  }

  private link(card: Card, id: number): void {
    card.id = id;
    this.keyById.set(id, card.key);
  }

  /** Applies the status event held for `id` before its card knew it. */
  private applyEarly(id: number): void {
    const pending = this.early.get(id);
    if (!pending) return;
    this.early.delete(id);
    this.applyStatus(pending);
  }

  /** Gives a card without its file the one just added, keeping its place in the batch (the key is the file's). */
  private relink(card: Card, file: LocalFile): void {
    const oldKey = card.key;
    if (this.mayBeUnanswered.delete(oldKey)) this.mayBeUnanswered.add(file.key);
    card.key = file.key;
    card.file = file;
    card.local = true;
    card.preview = { state: 'loading' };
    if (card.id === null) card.note = null;
    this.cards = new Map([...this.cards].map(([key, c]) => (key === oldKey ? [file.key, c] : [key, c])));
    if (card.id !== null) this.keyById.set(card.id, file.key);
    this.touch([oldKey]);
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
