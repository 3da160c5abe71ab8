/**
 * Before/after: a card's original and its result (the cluster's, once
 * completed; before that, the host's offline preview of it) over one
 * another, split by a slider: the original left of the split, the result
 * right of it. "Fit" shows the whole picture; "100 %" shows the result at
 * its natural size (one image pixel per CSS pixel, scrolling), the
 * original drawn over the same area, so what is compared is the same part
 * of the scene. A modal <dialog>: Escape closes it (the browser's own
 * cancel), the range input moves with the arrow keys, Home and End, and
 * focus goes back to the card's Compare button.
 */
import { errorMessage, type ComparePictures } from '../platform/platform.js';
import { h, setText } from '../ui/dom.js';
import type { Card } from './card.js';
import type { WindowContext } from './window-context.js';

/** A card has something to compare: its file here (the preview), or a completed result. */
export function canCompare(card: Card): boolean {
  return (card.local && card.preview.state === 'ready') || (card.status === 'completed' && card.id !== null);
}

export class CompareView {
  private readonly dialog: HTMLDialogElement;
  private readonly title = h('h2', { id: 'compare-title' });
  private readonly note = h('p', { class: 'compare-note', role: 'status' });
  private readonly stage = h('div', { class: 'compare-stage' });
  private readonly frame = h('div', { class: 'compare-frame' });
  private readonly original = h('img', { class: 'compare-original', alt: '' });
  private readonly result = h('img', { class: 'compare-result', alt: '' });
  private readonly divider = h('div', { class: 'compare-divider', 'aria-hidden': 'true' });
  private readonly slider = h('input', { type: 'range', min: 0, max: 100, step: 1, value: 50, class: 'compare-slider' });
  private readonly zoom = h('button', { type: 'button', class: 'small', 'aria-pressed': 'false' }, '100 %');
  private openedFor: string | null = null;
  /** Each opening's own number: a late answer for an earlier card is dropped. */
  private generation = 0;

  constructor(private readonly ctx: WindowContext) {
    this.frame.append(this.result, this.original, this.divider);
    this.stage.append(this.frame);
    const close = h('button', { type: 'button', class: 'small ghost' }, 'Close');
    this.dialog = h(
      'dialog',
      { id: 'compare-dialog', 'aria-labelledby': 'compare-title' },
      h('div', { class: 'compare-head' }, this.title, h('div', { class: 'compare-tools' }, this.zoom, close)),
      this.stage,
      h('label', { class: 'compare-split' }, h('span', {}, 'Split: original on the left, result on the right'), this.slider),
      this.note,
    );
    document.body.append(this.dialog);
    this.slider.addEventListener('input', () => this.split());
    this.zoom.addEventListener('click', () => this.setZoom(this.zoom.getAttribute('aria-pressed') !== 'true'));
    close.addEventListener('click', () => this.dialog.close());
    this.dialog.addEventListener('close', () => this.closed());
  }

  async open(card: Card): Promise<void> {
    const generation = ++this.generation;
    const name = card.file.name;
    this.openedFor = card.key;
    setText(this.title, `Before and after: ${name}`);
    setText(this.note, 'Loading…');
    this.dialog.dataset.state = 'loading';
    this.dialog.dataset.key = card.key;
    this.clearPictures();
    this.slider.value = '50';
    this.split();
    this.setZoom(false);
    if (!this.dialog.open) this.dialog.showModal();
    this.slider.focus();
    let pictures: ComparePictures;
    try {
      const completed = card.status === 'completed' && card.id !== null;
      const target = this.ctx.store.targetOf(card) ?? (card.preview.state === 'ready' ? card.preview.target : null);
      pictures = await this.ctx.platform.comparePictures({
        file: card.local ? card.file : null,
        id: completed ? card.id : null,
        options: this.ctx.store.options,
        target,
      });
    } catch (err) {
      if (generation !== this.generation) return;
      this.dialog.dataset.state = 'failed';
      setText(this.note, `Could not show the comparison: ${errorMessage(err)}`);
      return;
    }
    if (generation !== this.generation || !this.dialog.open) {
      release(pictures);
      return;
    }
    const resultWord = pictures.resultKind === 'result' ? 'Result' : 'Preview of the result';
    show(this.original, pictures.original, `Original: ${name}`);
    show(this.result, pictures.result, `${resultWord}: ${name}`);
    this.frame.classList.toggle('no-result', pictures.result === null);
    this.slider.disabled = pictures.original === null || pictures.result === null;
    await Promise.all([loaded(this.original), loaded(this.result)]);
    if (generation !== this.generation) return;
    // The names say the sizes too, once known: "Original: beach.jpg, 4000×3000".
    for (const img of [this.original, this.result]) if (img.naturalWidth > 0) img.alt = `${img.alt}, ${img.naturalWidth}×${img.naturalHeight}`;
    setText(this.note, pictures.note);
    this.dialog.dataset.state = 'ready';
  }

  private split(): void {
    const value = Number(this.slider.value);
    // The original shows left of the split: clipped from the right.
    this.original.style.clipPath = `inset(0 ${100 - value}% 0 0)`;
    this.divider.style.left = `${value}%`;
    this.slider.setAttribute('aria-valuetext', `${value}% original, ${100 - value}% result`);
  }

  private setZoom(actual: boolean): void {
    this.zoom.setAttribute('aria-pressed', String(actual));
    this.stage.classList.toggle('actual', actual);
  }

  private clearPictures(): void {
    for (const img of [this.original, this.result]) {
      const src = img.getAttribute('src');
      if (src?.startsWith('blob:')) URL.revokeObjectURL(src);
      img.removeAttribute('src');
      img.hidden = true;
      img.alt = '';
    }
  }

  private closed(): void {
    this.generation++;
    this.clearPictures();
    const key = this.openedFor;
    this.openedFor = null;
    if (key === null) return;
    const button = document.querySelector<HTMLButtonElement>(`li.card[data-key="${CSS.escape(key)}"] button[data-action="compare"]`);
    button?.focus();
  }
}

function show(img: HTMLImageElement, src: string | null, alt: string): void {
  img.hidden = src === null;
  img.alt = alt;
  if (src !== null) img.src = src;
}

/** Resolves once the picture is decoded (or failed, or there is none). */
function loaded(img: HTMLImageElement): Promise<void> {
  if (img.hidden || !img.getAttribute('src')) return Promise.resolve();
  return img.decode().catch(() => undefined);
}

/** The pictures of an answer nobody will show. */
function release(pictures: ComparePictures): void {
  for (const src of [pictures.original, pictures.result]) if (src?.startsWith('blob:')) URL.revokeObjectURL(src);
}
