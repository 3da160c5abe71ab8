/**
 * The batch followed live: status events over the host's stream, deletions
 * on the server (the photo goes back to the queue, since it is still on
 * this computer), and a re-read of the batch on every (re)connection, since
 * events sent while the stream was down are gone for good.
 *
 * A re-read also finds the images of files whose upload answer never came
 * (Cancel, a reload, no answer): they are linked to their cards (see
 * BatchStore.adopt). Restoring a batch (a reload, a restart, one opened from
 * "Recent batches") reads it whole, every image a card.
 */
import { absentFromListing, mapLimit } from '../../shared/api-policy/index.js';
import type { ConnectionControl } from './connection-control.js';
import type { OptionsControl } from './options-control.js';
import type { WindowContext } from './window-context.js';

/** Completions come in bursts: their bytes are read once per burst. */
const RESULT_BYTES_DELAY_MS = 400;
/** Pictures of results fetched at once, for cards whose file this computer does not have. */
const PICTURES_AT_ONCE = 4;

export class LiveSync {
  private stopEvents: (() => void) | null = null;
  private rereadSoon: ReturnType<typeof setTimeout> | null = null;
  /** A restore that could not read the batch yet (offline, a token needed): done on the next connection. */
  private restorePending = false;
  private readonly picturesAsked = new Set<number>();

  constructor(
    private readonly ctx: WindowContext,
    private readonly deps: { connection: ConnectionControl; options: OptionsControl },
  ) {}

  /** (Re)starts the stream of the store's current batch. */
  watch(): void {
    this.stopEvents?.();
    const { store, platform } = this.ctx;
    const { connection, options } = this.deps;
    const batchId = store.batchId;
    this.stopEvents = platform.watchEvents(batchId, {
      onStatus: (event) => {
        // An image of a file sent without hearing the answer: the listing links it to its card.
        if (store.mayBeUnclaimed(event)) this.resyncSoon();
        const key = store.applyStatus(event);
        const card = key === null ? undefined : store.get(key);
        if (card?.status === 'completed' && card.resultBytes === null) this.resyncSoon();
      },
      onDeleted: (event) => this.requeueDeleted(event.id === null ? ['*'] : [event.id]),
      onConnection: (state) => {
        const wasOpen = connection.state.state === 'open';
        connection.set(state);
        // Events may have been missed while disconnected: re-read the batch.
        if (state.state === 'open' && !wasOpen && batchId === store.batchId) void (this.restorePending ? this.restore() : this.resync());
        // A (re)connection may be to another server: its limits apply from now on.
        if (state.state === 'open' && !wasOpen) void options.readServerConfig();
      },
    });
  }

  /** Brings the cards up to date from a listing of the batch, and puts back in the queue what the server no longer has. */
  async resync(): Promise<void> {
    const { store } = this.ctx;
    // Before the listing starts: an id learnt later may be of an upload the listing could not see yet.
    const known = store.knownIds();
    if (known.length === 0 && !store.awaitingAnswers()) return;
    await this.read(known, false).catch(() => {
      // Offline again: the next reconnection resyncs.
    });
  }

  /** Reads the store's batch whole: every image the server holds becomes (or updates) a card. */
  async restore(): Promise<void> {
    this.restorePending = true;
    try {
      await this.read(this.ctx.store.knownIds(), true);
      this.restorePending = false;
    } catch {
      // Offline, or a token is needed: the next connection restores it.
    }
  }

  private async read(known: number[], keepOthers: boolean): Promise<void> {
    const { store, platform } = this.ctx;
    const batchId = store.batchId;
    const images = await platform.listBatch(batchId);
    if (batchId !== store.batchId) return; // another batch was opened meanwhile
    store.adopt(images, keepOthers);
    // Deleted while the events were not reaching us (their `deleted` event is gone for good).
    const absent = absentFromListing(known, images);
    // An empty listing's first page is one statement that saw none of them (a batch delete): no need to ask.
    if (absent.length) this.requeueDeleted(images.length === 0 ? absent : await platform.imagesGone(absent));
    void this.fetchPictures();
  }

  /** The results' pictures for completed cards whose file this computer does not have. */
  private async fetchPictures(): Promise<void> {
    const { store, platform } = this.ctx;
    const wanted = store.list().filter((c) => !c.local && c.status === 'completed' && c.id !== null && !this.picturesAsked.has(c.id));
    await mapLimit(wanted, PICTURES_AT_ONCE, async (card) => {
      if (card.id === null) return;
      this.picturesAsked.add(card.id);
      try {
        store.setServerPicture(card.key, await platform.resultPicture(card.id));
      } catch {
        this.picturesAsked.delete(card.id); // asked again after the next re-read
      }
    });
  }

  /** A re-read shortly: completed images' bytes are in the listing, not in the status event, and they come in bursts. */
  private resyncSoon(): void {
    if (this.rereadSoon) return;
    this.rereadSoon = setTimeout(() => {
      this.rereadSoon = null;
      void this.resync();
    }, RESULT_BYTES_DELAY_MS);
  }

  /** Photos deleted on the server ('*': all) go back to the queue: they are still on this computer. */
  private requeueDeleted(ids: readonly (number | '*')[]): void {
    const requeued = ids.flatMap((id) => this.ctx.store.forgetDeleted(id));
    if (requeued.length) {
      this.ctx.notice(
        `${requeued.length === 1 ? 'A photo was' : `${requeued.length} photos were`} deleted on the server: back in the queue, Upload sends them again`,
      );
    }
  }
}
