/**
 * The Node side of test/support/preload-world.ts: installs it in an
 * isolated world of a page before the page loads, passes its messages on,
 * and drops files on the page the way the OS does (CDP's
 * Input.dispatchDragEvent with disk paths: trusted events, real File
 * objects), telling the isolated world their paths first.
 */
import path from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { PRELOAD_BINDING, PRELOAD_WORLD } from './preload-world.js';
import { browserScript } from './browser-script.js';

export interface PreloadWorld {
  /** Drops these files and folders on the element, as a person dragging them from the file manager would. */
  drop(selector: string, paths: readonly string[]): Promise<void>;
}

const worlds = new WeakMap<Page, PreloadWorld>();

export function preloadWorldOf(page: Page): PreloadWorld {
  const world = worlds.get(page);
  if (!world) throw new Error('this page was not opened by the app harness');
  return world;
}

function preloadWorldSource(): Promise<string> {
  return browserScript('preload-world.ts');
}

/** Call before the page navigates; `onMessage` gets what the preload would ipcRenderer.send. */
export async function attachPreloadWorld(page: Page, onMessage: (channel: unknown, args: unknown) => void): Promise<PreloadWorld> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const mainFrameId = (await cdp.send('Page.getFrameTree')).frameTree.frame.id;
  let contextId: number | undefined;
  // Resolved by the world's next report: drop() returns once the main side has heard of the drop.
  let reported: (() => void) | undefined;
  cdp.on('Runtime.executionContextCreated', ({ context }) => {
    const aux = context.auxData as { frameId?: string } | undefined;
    if (context.name === PRELOAD_WORLD && aux?.frameId === mainFrameId) contextId = context.id;
  });
  cdp.on('Runtime.bindingCalled', (call) => {
    // Only this world can call the binding; the check guards against a mix-up, not the page.
    if (call.name !== PRELOAD_BINDING || call.executionContextId !== contextId) return;
    const { channel, args } = JSON.parse(call.payload) as { channel: unknown; args: unknown };
    onMessage(channel, args);
    reported?.();
  });
  await cdp.send('Runtime.enable');
  // Without the Page domain enabled on this session, Chromium never runs the world's script.
  await cdp.send('Page.enable');
  await cdp.send('Runtime.addBinding', { name: PRELOAD_BINDING, executionContextName: PRELOAD_WORLD });
  await cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: await preloadWorldSource(), worldName: PRELOAD_WORLD });

  const world: PreloadWorld = {
    async drop(selector, paths) {
      if (contextId === undefined) throw new Error('the preload world has not started');
      // A natively dropped File is named after the file or folder; that name is what webUtils would map to its path.
      const table = Object.fromEntries(paths.map((p) => [path.basename(p), p]));
      await cdp.send('Runtime.evaluate', { expression: `__imgfleetSetDroppedFiles(${JSON.stringify(table)})`, contextId });
      const box = await page.locator(selector).boundingBox();
      if (!box) throw new Error(`${selector} is not visible`);
      const at = { x: box.x + box.width / 2, y: box.y + Math.min(box.height / 2, 200) };
      const data = { items: [], files: [...paths], dragOperationsMask: 1 };
      const heard = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the preload world reported no drop')), 10_000);
        reported = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
      await heard;
    },
  };
  worlds.set(page, world);
  return world;
}
