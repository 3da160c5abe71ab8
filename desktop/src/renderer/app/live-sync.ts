/**
 * The batch followed live: status events over the host's stream, deletions
 * on the server (the photo goes back to the queue, since it is still on
 * this computer), and a re-read of the batch on every (re)connection, since
 * events sent while the stream was down are gone for good.
 */
import { absentFromListing } from '../../shared/api-policy/index.js';
import type { ConnectionControl } from './connection-control.js';
import type { OptionsControl } from './options-control.js';
import type { WindowContext } from './window-context.js';

/** Completions come in bursts: their bytes are read once per burst. */
const RESULT_BYTES_DELAY_MS = 400;

export class LiveSync {
  private stopEvents: (() => void) | null = null;
  private resultBytesRead: ReturnType<typeof setTimeout> | null = null;

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
        const key = store.applyStatus(event);
        const card = key === null ? undefined : store.get(key);
        if (card?.status === 'completed' && card.resultBytes === null) this.readResultBytesSoon();
      },
      onDeleted: (event) => this.requeueDeleted(event.id === null ? ['*'] : [event.id]),
      onConnection: (state) => {
        const wasOpen = connection.state.state === 'open';
        connection.set(state);
        // Events may have been missed while disconnected: re-read the batch.
        if (state.state === 'open' && !wasOpen && batchId === store.batchId) void this.resync();
        // A (re)connection may be to another server: its limits apply from now on.
        if (state.state === 'open' && !wasOpen) void options.readServerConfig();
      },
    });
  }

  /** Brings the cards up to date from a listing of the batch, and puts back in the queue what the server no longer has. */
  async resync(): Promise<void> {
    const { store, platform } = this.ctx;
    // Before the listing starts: an id learnt later may be of an upload the listing could not see yet.
    const known = store.knownIds();
    if (known.length === 0) return;
    try {
      const images = await platform.listBatch(store.batchId);
      store.reconcile(images);
      // Deleted while the events were not reaching us (their `deleted` event is gone for good).
      const absent = absentFromListing(known, images);
      // An empty listing's first page is one statement that saw none of them (a batch delete): no need to ask.
      if (absent.length) this.requeueDeleted(images.length === 0 ? absent : await platform.imagesGone(absent));
    } catch {
      // Offline again: the next reconnection resyncs.
    }
  }

  /** A completed image's bytes are in its listing, not in the status event: read once per burst of completions. */
  private readResultBytesSoon(): void {
    if (this.resultBytesRead) return;
    this.resultBytesRead = setTimeout(() => {
      this.resultBytesRead = null;
      void this.resync();
    }, RESULT_BYTES_DELAY_MS);
  }

  /** Photos deleted on the server ('*': all) go back to the queue: they are still on this computer. */
  private requeueDeleted(ids: readonly (number | '*')[]): void {
    const requeued = ids.flatMap((id) => this.ctx.store.forgetDeleted(id));
    if (requeued.length) {
      this.ctx.notice(`${requeued.length === 1 ? 'A photo was' : `${requeued.length} photos were`} deleted on the server: back in the queue, Upload sends them again`);
    }
  }
}
