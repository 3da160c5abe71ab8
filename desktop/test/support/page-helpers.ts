/** Small helpers for driving the app's pages. */
import type { Page } from 'playwright-core';
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
  await page.evaluate((list) => {
    for (const full of list) window.__imgfleetDropPaths[full.split(/[\\/]/).pop() ?? full] = full;
  }, [...paths]);
  await preloadWorldOf(page).drop('#drop-zone', paths);
}

/**
 * What a compromised page can do: build its own File objects, claim paths
 * for them and dispatch a drop. No trusted event and no real file: the
 * preload reports nothing, so the main side refuses the scan.
 */
export async function forgeDrop(page: Page, paths: readonly string[]): Promise<void> {
  await page.evaluate((list) => {
    const transfer = new DataTransfer();
    for (const [index, full] of list.entries()) {
      const name = `${index}-${full.split(/[\\/]/).pop() ?? 'item'}`;
      window.__imgfleetDropPaths[name] = full;
      transfer.items.add(new File([], name));
    }
    const zone = document.getElementById('drop-zone')!;
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, [...paths]);
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
        if (data[i + 3]! > 200 && Math.abs(data[i]! - colour[0]) < 24 && Math.abs(data[i + 1]! - colour[1]) < 24 && Math.abs(data[i + 2]! - colour[2]) < 24) n++;
      }
      return n;
    },
    rgb,
  );
}
