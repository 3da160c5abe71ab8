/**
 * The grid of cards. Each card's element is kept and updated in place
 * (keyed by the file's key) so a stream of progress events touches only the
 * cards that changed; the order follows the store's.
 */
import { formatBytes, formatSize } from '../ui/format.js';
import { h, setText } from '../ui/dom.js';
import type { BatchStore, Card } from './batch-store.js';

export type CardAction = 'download' | 'retry' | 'remove';

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
    if (structural) this.sync();
    for (const key of changed) {
      const card = this.store.get(key);
      const elements = this.elements.get(key);
      if (card && elements) paint(elements, card, this.store.targetOf(card));
    }
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
  const img = h('img', { alt: '', decoding: 'async', hidden: true });
  const placeholder = h('div', { class: 'thumb-placeholder' }, 'reading…');
  const dims = h('div', { class: 'dims' });
  const size = h('div', { class: 'size' });
  const status = h('span', { class: 'status-text' });
  const progress = h('progress', { max: 1, value: 0, hidden: true });
  const reason = h('div', { class: 'reason', hidden: true });
  const note = h('div', { class: 'note', hidden: true });
  const download = h('button', { type: 'button', 'data-action': 'download', class: 'small', hidden: true }, 'Download');
  const retry = h('button', { type: 'button', 'data-action': 'retry', class: 'small', hidden: true }, 'Retry');
  const remove = h('button', { type: 'button', 'data-action': 'remove', class: 'small ghost', title: 'Remove from the list', 'aria-label': `Remove ${card.file.name}` }, '✕');
  const root = h(
    'li',
    { class: 'card', 'data-key': card.key },
    h('div', { class: 'thumb' }, img, placeholder),
    h(
      'div',
      { class: 'meta' },
      h('div', { class: 'name', title: card.file.path ?? card.file.name }, card.file.name),
      dims,
      size,
      h('div', { class: 'status' }, status, progress),
      reason,
      note,
      h('div', { class: 'actions' }, download, retry, remove),
    ),
  );
  return { root, img, placeholder, dims, size, status, progress, reason, note, download, retry };
}

export function statusLabel(card: Card): string {
  switch (card.status) {
    case 'queued':
      return 'Queued';
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

/** "4.1 MiB → 312 KiB (−92%)": the saving of a result against its original. */
export function savingText(originalBytes: number, resultBytes: number): string {
  if (originalBytes <= 0) return formatBytes(resultBytes);
  const change = Math.round((1 - resultBytes / originalBytes) * 100);
  const sign = change >= 0 ? '−' : '+';
  return `${formatBytes(originalBytes)} → ${formatBytes(resultBytes)} (${sign}${Math.abs(change)}%)`;
}

function paint(el: CardElements, card: Card, target: { width: number; height: number } | null): void {
  el.root.dataset.status = card.status;
  // A card loses its id when its image is deleted on the server (it goes back to the queue).
  if (card.id !== null) el.root.dataset.id = String(card.id);
  else delete el.root.dataset.id;

  const preview = card.preview;
  if (preview.state === 'ready') {
    if (el.img.getAttribute('src') !== preview.src) el.img.src = preview.src;
    el.img.hidden = false;
    el.placeholder.hidden = true;
    setText(el.dims, `${formatSize(preview.original)} → ${formatSize(target ?? preview.target)}`);
  } else {
    el.img.hidden = true;
    el.placeholder.hidden = false;
    setText(el.placeholder, preview.state === 'loading' ? 'reading…' : 'no preview');
    setText(el.dims, preview.state === 'loading' ? '…' : '—');
  }
  setText(el.size, card.resultBytes === null ? formatBytes(card.file.size) : savingText(card.file.size, card.resultBytes));
  el.size.classList.toggle('saving', card.resultBytes !== null);
  setText(el.status, statusLabel(card));
  el.progress.hidden = card.status !== 'uploading';
  el.progress.value = card.progress;

  // The cluster's reason wins; before upload, the local check already tells what will fail.
  const reason = card.error ?? (preview.state === 'failed' ? `${preview.error} (checked on this computer)` : null);
  el.reason.hidden = reason === null;
  setText(el.reason, reason ?? '');
  el.note.hidden = card.note === null;
  el.note.classList.toggle('error', card.note?.error === true);
  setText(el.note, card.note?.text ?? '');

  el.download.hidden = !(card.status === 'completed' && card.id !== null);
  el.retry.hidden = !(card.status === 'failed' && card.rejectedBy === null);
}
