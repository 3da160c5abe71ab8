/** Small helpers for driving the app's pages. */
import type { Page } from 'playwright-core';

/**
 * Drops the given paths on the drop zone, through the page's real drop
 * handler: a DataTransfer of File objects whose paths the test bridge knows
 * (in Electron, webUtils.getPathForFile gives a dropped file's path).
 */
export async function dropPaths(page: Page, paths: readonly string[]): Promise<void> {
  await page.evaluate((list) => {
    const transfer = new DataTransfer();
    for (const [index, full] of list.entries()) {
      const name = `${index}-${full.split(/[\\/]/).pop() ?? 'item'}`;
      window.__imgfleetDropPaths[name] = full;
      transfer.items.add(new File([], name));
    }
    const zone = document.getElementById('drop-zone')!;
    zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
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
