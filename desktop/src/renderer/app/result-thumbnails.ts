/**
 * A card whose preview is a labelled stand-in (the web page: a browser
 * decodes neither HEIC nor TIFF, see browser-preview.ts) shows the
 * server's result instead once it is completed: the cluster's decoder is
 * the preview there is. Chosen over a server endpoint that would decode a
 * file before it is stored: the card is honest about it ("HEIC · preview
 * after upload") and the result comes moments after the upload anyway.
 */
import type { WindowContext } from './window-context.js';

export class ResultThumbnails {
  private readonly asked = new Set<number>();

  constructor(private readonly ctx: WindowContext) {}

  /** Called on every store change: fetches the pictures of newly completed stand-in cards. */
  changed(keys: ReadonlySet<string>): void {
    const { store, platform } = this.ctx;
    for (const key of keys) {
      const card = store.get(key);
      if (!card || card.status !== 'completed' || card.id === null || card.preview.state !== 'ready' || !card.preview.standIn) continue;
      const id = card.id;
      if (this.asked.has(id)) continue;
      this.asked.add(id);
      platform.resultPicture(id).then(
        (src) => store.setServerPicture(key, src),
        () => this.asked.delete(id), // asked again at its next change
      );
    }
  }
}
