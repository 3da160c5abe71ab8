/**
 * The grid of cards. Each card's element is kept and updated in place
 * (keyed by the file's key) so a stream of progress events touches only the
 * cards that changed; the order follows the store's. Every control and
 * picture is named for its photo (a screen reader hears "Download
 * beach.jpg", not "Download"); status changes are spoken by the one live
 * region (announcer.ts), not by each card.
 *
 * A preview shows the photo on the background the result will have: the
 * options' flatten colour for JPEG (no transparency), a checkerboard where
 * the output keeps it.
 */
import { formatBytes, formatSize } from '../ui/format.js';
import { h, setText } from '../ui/dom.js';
import type { OutputOptions } from '../platform/platform.js';
import type { BatchStore } from './batch-store.js';
import { canRetry, type Card } from './card.js';
import { canCompare } from './compare-view.js';

export type CardAction = 'download' | 'retry' | 'remove' | 'compare';

/** Output formats that keep an image's transparency. */
const KEEPS_ALPHA: ReadonlySet<string> = new Set(['png', 'webp', 'avif']);

interface CardElements {
  root: HTMLLIElement;
  img: HTMLImageElement;
  placeholder: HTMLElement;
  dims: HTMLElement;
  size: HTMLElement;
  status: HTMLElement;
  progress: HTMLProgressElement;
  reason: HTMLElement;
  note: HTMLElement;
  download: HTMLButtonElement;
  retry: HTMLButtonElement;
  compare: HTMLButtonElement;
}

export class CardsView {
  private readonly elements = new Map<string, CardElements>();

  constructor(
    private readonly list: HTMLUListElement,
    private readonly store: BatchStore,
    onAction: (action: CardAction, key: string) => void,
  ) {
    // One listener for all cards: they come and go by the hundred.
    list.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
      const card = button?.closest<HTMLLIElement>('li.card');
      if (!button || !card || button.disabled) return;
      onAction(button.dataset.action as CardAction, card.dataset.key ?? '');
    });
  }

  update(changed: ReadonlySet<string>, structural: boolean): void {
    this.showBackground(this.store.options);
    if (structural) this.sync();
    for (const key of changed) {
      const card = this.store.get(key);
      const elements = this.elements.get(key);
      if (card && elements) paint(elements, card, this.store.targetOf(card));
    }
  }

  /** The background every preview sits on: the result's (see the module's comment). */
  private showBackground(options: OutputOptions): void {
    const alpha = KEEPS_ALPHA.has(options.format);
    this.list.dataset.outputAlpha = String(alpha);
    this.list.style.setProperty('--flatten', options.background);
  }

  /** Adds and removes elements so the list matches the store, in its order. */
  private sync(): void {
    const cards = this.store.list();
    const keep = new Set(cards.map((c) => c.key));
    for (const [key, elements] of this.elements) {
      if (!keep.has(key)) {
        // A browser's preview is a blob: URL only this card shows: free it with the card (data: URLs need nothing).
        const src = elements.img.getAttribute('src');
        if (src?.startsWith('blob:')) URL.revokeObjectURL(src);
        elements.root.remove();
        this.elements.delete(key);
      }
    }
    let previous: Element | null = null;
    for (const card of cards) {
      let elements = this.elements.get(card.key);
      if (!elements) {
        elements = build(card);
        this.elements.set(card.key, elements);
        paint(elements, card, this.store.targetOf(card));
      }
      const expectedNext: Element | null = previous ? previous.nextElementSibling : this.list.firstElementChild;
      if (expectedNext !== elements.root) {
        if (previous) previous.after(elements.root);
        else this.list.prepend(elements.root);
      }
      previous = elements.root;
    }
  }
}

function build(card: Card): CardElements {
  const name = card.file.name;
  const img = h('img', { alt: `Preview of ${name}`, decoding: 'async', hidden: true });
  const placeholder = h('div', { class: 'thumb-placeholder' }, 'reading…');
  const dims = h('div', { class: 'dims' });
  const size = h('div', { class: 'size' });
  const status = h('span', { class: 'status-text' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': `Upload of ${name}` });
  const reason = h('div', { class: 'reason', hidden: true });
  const note = h('div', { class: 'note', hidden: true });
  const download = h('button', { type: 'button', 'data-action': 'download', class: 'small', hidden: true, 'aria-label': `Download ${name}` }, 'Download');
  const retry = h('button', { type: 'button', 'data-action': 'retry', class: 'small', hidden: true, 'aria-label': `Retry ${name}` }, 'Retry');
  const compare = h(
    'button',
    { type: 'button', 'data-action': 'compare', class: 'small', hidden: true, 'aria-label': `Compare ${name} before and after` },
    'Compare',
  );
  const remove = h(
    'button',
    { type: 'button', 'data-action': 'remove', class: 'small ghost', title: 'Remove from the list', 'aria-label': `Remove ${name}` },
    '✕',
  );
  const root = h(
    'li',
    { class: 'card', 'data-key': card.key },
    h('div', { class: 'thumb' }, img, placeholder),
    h(
      'div',
      { class: 'meta' },
      h('div', { class: 'name', title: card.file.path ?? card.file.relativePath ?? name }, name),
      dims,
      size,
      h('div', { class: 'status' }, status, progress),
      reason,
      note,
      h('div', { class: 'actions' }, compare, download, retry, remove),
    ),
  );
  return { root, img, placeholder, dims, size, status, progress, reason, note, download, retry, compare };
}

export function statusLabel(card: Card): string {
  switch (card.status) {
    case 'queued':
      return card.local ? 'Queued' : 'Not uploaded';
    case 'uploading':
      return `Uploading ${Math.round(card.progress * 100)}%`;
    case 'pending':
      return 'Pending';
    case 'processing':
      return 'Processing';
    case 'completed':
      return card.result ? `Completed ${formatSize(card.result)}` : 'Completed';
    case 'failed':
      return 'Failed';
  }
}

/** "4.1 MB → 312 kB (−92%)": the saving of a result against its original. */
export function savingText(originalBytes: number, resultBytes: number): string {
  if (originalBytes <= 0) return formatBytes(resultBytes);
  const change = Math.round((1 - resultBytes / originalBytes) * 100);
  const sign = change >= 0 ? '−' : '+';
  return `${formatBytes(originalBytes)} → ${formatBytes(resultBytes)} (${sign}${Math.abs(change)}%)`;
}

/** The card's reason to show: the cluster's, or what the check on this computer already found. */
export function reasonOf(card: Card): string | null {
  return card.error ?? (card.preview.state === 'failed' ? `${card.preview.error} (checked on this computer)` : null);
}

function paintPreview(el: CardElements, card: Card, target: { width: number; height: number } | null): void {
  const preview = card.preview;
  const src = preview.state === 'ready' ? preview.src : preview.state === 'elsewhere' ? preview.src : null;
  if (src !== null && el.img.getAttribute('src') !== src) {
    // A restored batch of hundreds shows the server's results: fetched as their cards come into view.
    el.img.loading = preview.state === 'elsewhere' ? 'lazy' : 'eager';
    el.img.src = src;
  }
  el.img.hidden = src === null;
  el.placeholder.hidden = src !== null;
  if (preview.state === 'ready') {
    setText(el.dims, `${formatSize(preview.original)} → ${formatSize(target ?? preview.target)}`);
  } else if (preview.state === 'elsewhere') {
    setText(el.placeholder, card.id === null ? 'add it again' : 'on the server');
    const result = card.result ?? target;
    setText(
      el.dims,
      preview.original && result ? `${formatSize(preview.original)} → ${formatSize(result)}` : preview.original ? formatSize(preview.original) : '—',
    );
  } else {
    setText(el.placeholder, preview.state === 'loading' ? 'reading…' : 'no preview');
    setText(el.dims, preview.state === 'loading' ? '…' : '—');
  }
}

function paint(el: CardElements, card: Card, target: { width: number; height: number } | null): void {
  el.root.dataset.status = card.status;
  el.root.dataset.local = String(card.local);
  // A card loses its id when its image is deleted on the server (it goes back to the queue).
  if (card.id !== null) el.root.dataset.id = String(card.id);
  else delete el.root.dataset.id;

  paintPreview(el, card, target);
  const size = card.file.size > 0 ? card.file.size : null;
  setText(
    el.size,
    card.resultBytes === null ? (size === null ? '' : formatBytes(size)) : size === null ? formatBytes(card.resultBytes) : savingText(size, card.resultBytes),
  );
  el.size.classList.toggle('saving', card.resultBytes !== null);
  setText(el.status, statusLabel(card));
  el.progress.hidden = card.status !== 'uploading';
  el.progress.value = card.progress;

  const reason = reasonOf(card);
  el.reason.hidden = reason === null;
  setText(el.reason, reason ?? '');
  el.note.hidden = card.note === null;
  el.note.classList.toggle('error', card.note?.error === true);
  setText(el.note, card.note?.text ?? '');

  el.download.hidden = !(card.status === 'completed' && card.id !== null);
  // Not offered for what can only fail again.
  el.retry.hidden = !canRetry(card);
  el.compare.hidden = !canCompare(card);
}
