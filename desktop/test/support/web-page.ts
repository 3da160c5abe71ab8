/**
 * Driving the web UI the backend serves at `/` in a plain headless Chromium
 * (no preload: the renderer picks its browser adapter): opening it, real
 * folder drops, drops of synthetic directory trees, screenshots, and
 * reading the ZIPs it downloads.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import yauzl from 'yauzl';
import { chromium, type Browser, type BrowserContext, type Download, type Page } from 'playwright-core';
import { CHROMIUM } from './app-harness.js';
import { REPO_DIR } from './paths.js';

export const BROWSER_OUTPUT_DIR = path.join(REPO_DIR, 'test-output', 'browser');

export interface WebApp {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in any page of the context. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Chromium as a person's browser would run it here: no sandbox (root in a container), no GPU, no background traffic. */
export function launchPlainBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Opens `${url}/` and waits until the main window has started. `token`: put
 * in localStorage first, as Settings would; `settings`: more stored settings
 * (e.g. uploadTimeouts).
 */
export async function openWebApp(url: string, options: { token?: string; settings?: Record<string, unknown> } = {}): Promise<WebApp> {
  const browser = await launchPlainBrowser();
  const pageErrors: string[] = [];
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    if (options.token || options.settings) {
      const stored = { ...options.settings, ...(options.token ? { apiToken: options.token } : {}) };
      await context.addInitScript((value) => {
        // Only the app's pages (about:blank has no storage), and only on the first load: a later reload keeps what the page saved.
        if (!location.protocol.startsWith('http')) return;
        if (localStorage.getItem('imgfleet.settings') === null) localStorage.setItem('imgfleet.settings', value);
      }, JSON.stringify(stored));
    }
    context.on('page', (page) => page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`)));
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    return { browser, context, page, pageErrors, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(BROWSER_OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(BROWSER_OUTPUT_DIR, `${name}.png`), fullPage: true });
}

/** Saves a download into `folder` under its suggested name; returns the path. */
export async function saveDownload(download: Download, folder: string): Promise<string> {
  const file = path.join(folder, download.suggestedFilename());
  await download.saveAs(file);
  return file;
}

/**
 * Drops files and folders from disk on the drop zone the way the OS does:
 * CDP's Input.dispatchDragEvent with file paths makes Chromium build a real
 * DataTransfer, whose items give FileSystemDirectoryEntry objects for
 * folders, so the page's recursive walk runs against a real file system.
 */
export async function dropPathsNatively(page: Page, paths: readonly string[]): Promise<void> {
  const box = await page.locator('#drop-zone').boundingBox();
  if (!box) throw new Error('the drop zone is not visible');
  const at = { x: box.x + box.width / 2, y: box.y + Math.min(box.height / 2, 200) };
  const cdp = await page.context().newCDPSession(page);
  try {
    const data = { items: [], files: [...paths], dragOperationsMask: 1 };
    for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  } finally {
    await cdp.detach();
  }
}

/** A node of a synthetic tree: a folder has children; `unreadable` makes reading it fail. */
export interface FakeNode {
  name: string;
  children?: FakeNode[];
  unreadable?: boolean;
}

/**
 * Drops a synthetic tree through the page's real drop handler: the
 * DataTransfer's items are replaced by objects whose webkitGetAsEntry()
 * returns FileSystemEntry look-alikes. Their readers hand out at most 100
 * entries per readEntries call, asynchronously, as Chromium's do.
 */
export async function dropFakeTree(page: Page, roots: readonly FakeNode[]): Promise<void> {
  await page.evaluate((nodes) => {
    interface Node {
      name: string;
      children?: Node[];
      unreadable?: boolean;
    }
    const fail = (fn: ((err: DOMException) => void) | undefined, what: string): void =>
      void setTimeout(() => fn?.(new DOMException(`${what} cannot be read`, 'NotReadableError')));
    const entry = (node: Node, parent: string): object => {
      const fullPath = `${parent}/${node.name}`;
      const base = { name: node.name, fullPath, filesystem: null, getParent: () => undefined };
      if (node.children) {
        const children = node.children;
        return {
          ...base,
          isFile: false,
          isDirectory: true,
          createReader: () => {
            let served = 0;
            return {
              readEntries(ok: (entries: object[]) => void, error?: (err: DOMException) => void) {
                if (node.unreadable) {
                  fail(error, fullPath);
                  return;
                }
                const chunk = children.slice(served, served + 100).map((child) => entry(child, fullPath));
                served += chunk.length;
                setTimeout(() => ok(chunk));
              },
            };
          },
        };
      }
      return {
        ...base,
        isFile: true,
        isDirectory: false,
        file(ok: (file: File) => void, error?: (err: DOMException) => void) {
          if (node.unreadable) {
            fail(error, fullPath);
            return;
          }
          setTimeout(() => ok(new File([`fake ${fullPath}`], node.name, { lastModified: 1_700_000_000_000 })));
        },
      };
    };
    const transfer = new DataTransfer();
    const items = nodes.map((node) => ({ kind: 'file', type: '', getAsFile: () => null, webkitGetAsEntry: () => entry(node, '') }));
    Object.defineProperty(transfer, 'items', { value: items });
    const zone = document.getElementById('drop-zone')!;
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  }, roots as FakeNode[]);
}

/** The cards' names and the paths shown as their tooltips, in order. */
export function cardPaths(page: Page): Promise<{ name: string; path: string }[]> {
  return page.$$eval('#cards li.card .name', (names) => names.map((n) => ({ name: n.textContent ?? '', path: n.getAttribute('title') ?? '' })));
}

export async function noticeText(page: Page): Promise<string> {
  return (await page.textContent('#notice')) ?? '';
}

/** Every entry of a ZIP file, read into memory (test results are small). */
export function readZip(file: string): Promise<{ name: string; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) {
        reject(err);
        return;
      }
      const entries: { name: string; data: Buffer }[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr) {
            reject(streamErr);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, data: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
