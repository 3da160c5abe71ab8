/** Small helpers for driving the app's pages. */
import type { Locator, Page } from 'playwright-core';
import { preloadWorldOf } from './preload-host.js';

/**
 * Drops files and folders from disk on the drop zone as the OS does (trusted
 * drag events carrying real File objects), through the page's real drop
 * handler. The preload's isolated world sees the drop and reports the paths
 * to the main side, which then lets the page's 'files:scan' read them. The
 * page's own bridge learns the paths too (in Electron, both sides ask
 * webUtils.getPathForFile).
 */
export async function dropPaths(page: Page, paths: readonly string[]): Promise<void> {
  await page.evaluate(
    (list) => {
      for (const full of list) window.__imgfleetDropPaths[full.split(/[\\/]/).pop() ?? full] = full;
    },
    [...paths],
  );
  await preloadWorldOf(page).drop('#drop-zone', paths);
}

/**
 * What a compromised page can do: build its own File objects, claim paths
 * for them and dispatch a drop. No trusted event and no real file: the
 * preload reports nothing, so the main side refuses the scan.
 */
export async function forgeDrop(page: Page, paths: readonly string[]): Promise<void> {
  await page.evaluate(
    (list) => {
      const transfer = new DataTransfer();
      for (const [index, full] of list.entries()) {
        const name = `${index}-${full.split(/[\\/]/).pop() ?? 'item'}`;
        window.__imgfleetDropPaths[name] = full;
        transfer.items.add(new File([], name));
      }
      const zone = document.getElementById('drop-zone')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    [...paths],
  );
}

export interface CardState {
  name: string;
  status: string;
  statusText: string;
  dims: string;
  reason: string | null;
  note: string | null;
  hasPreview: boolean;
  id: number | null;
}

export function cardStates(page: Page): Promise<CardState[]> {
  return page.$$eval('#cards li.card', (cards) =>
    cards.map((card) => {
      const el = card as HTMLElement;
      const text = (selector: string): string => el.querySelector(selector)?.textContent ?? '';
      const visibleText = (selector: string): string | null => {
        const node = el.querySelector<HTMLElement>(selector);
        return node && !node.hidden ? (node.textContent ?? '') : null;
      };
      const img = el.querySelector<HTMLImageElement>('.thumb img');
      return {
        name: text('.name'),
        status: el.dataset.status ?? '',
        statusText: text('.status-text'),
        dims: text('.dims'),
        reason: visibleText('.reason'),
        note: visibleText('.note'),
        hasPreview: Boolean(img && !img.hidden && img.complete && img.naturalWidth > 0),
        id: el.dataset.id ? Number(el.dataset.id) : null,
      };
    }),
  );
}

/**
 * A card whose local check has finished: its sizes are shown and, unless the
 * check failed ('—'), its preview image has really loaded. The image decodes
 * after the card's state says 'ready', so waiting for the sizes alone races it.
 */
export function previewSettled(card: CardState | undefined): boolean {
  return card !== undefined && card.dims !== '…' && (card.dims === '—' || card.hasPreview);
}

export async function waitForCards(page: Page, predicate: (cards: CardState[]) => boolean, timeoutMs = 60_000): Promise<CardState[]> {
  const deadline = Date.now() + timeoutMs;
  let last: CardState[] = [];
  while (Date.now() < deadline) {
    last = await cardStates(page);
    if (predicate(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`cards did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(last, null, 1)}`);
}

/** Counts canvas pixels close to a colour: a drawn line of that colour leaves some. */
export function pixelsOfColour(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  return page.$eval(
    selector,
    (canvas, colour) => {
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 200 && Math.abs(data[i]! - colour[0]) < 24 && Math.abs(data[i + 1]! - colour[1]) < 24 && Math.abs(data[i + 2]! - colour[2]) < 24)
          n++;
      }
      return n;
    },
    rgb,
  );
}

/** The RGB of a card's preview as shown (its background included) at a fraction of its width and height. */
export async function previewPixel(page: Page, name: string, fx: number, fy: number): Promise<[number, number, number]> {
  const { default: sharp } = await import('sharp');
  const shot = await cardNamed(page, name).locator('.thumb img').screenshot();
  const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = Math.floor(info.width * fx);
  const y = Math.floor(info.height * fy);
  const i = (y * info.width + x) * 3;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

/** The card of the photo named `name`. */
export function cardNamed(page: Page, name: string): Locator {
  return page.locator('#cards li.card', { has: page.locator('.name', { hasText: name }) });
}

/** Samples across the left half of a card's preview: which of a checkerboard's two greys (or neither) each shows. */
export async function leftHalfShades(page: Page, name: string): Promise<string[]> {
  const samples = await Promise.all([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4].map((fx) => previewPixel(page, name, fx, 0.5)));
  return [...new Set(samples.map(([red]) => (red > 240 ? 'light' : red > 150 && red < 225 ? 'dark' : 'other')))].sort();
}
