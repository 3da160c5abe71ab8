/**
 * Runs the real renderer in headless Chromium against the real main-process
 * handler map, wired the way electron-main.ts wires ipcMain: each request is
 * checked against the app's own page URLs and validated by dispatch() with
 * the channels' zod schemas. The preload's drop capture runs in an isolated
 * world of each page (preload-host.ts) and its reports go through receive(),
 * so a scan of a dropped folder passes the same path check as in the app.
 * Only what needs a desktop session is replaced:
 * the OS file dialogs answer from a queue the test fills, the file manager
 * and notifications are recorded.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { EventChannel } from '../../src/shared/channels.js';
import type { EventPayloads, IpcSender } from '../../src/shared/ipc-contract.js';
import { createMainHandlers, type MainDeps, type MainHandlers } from '../../src/main/handlers.js';
import { dispatch, isTrustedSenderUrl, receive } from '../../src/main/ipc-dispatch.js';
import { appPaths, fileUrl } from '../../src/main/app-paths.js';
import { SessionStore } from '../../src/main/services/session-store.js';
import { SettingsStore } from '../../src/main/services/settings-store.js';
import type { Settings } from '../../src/shared/models.js';
import { DESKTOP_DIR, TEST_OUTPUT_DIR, removeDir, tempDir } from './paths.js';
import { attachPreloadWorld } from './preload-host.js';
import { browserScript } from './browser-script.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Electron serves file: pages with the privileges module scripts need; plain Chromium needs this flag.
      '--allow-file-access-from-files',
    ],
  });
}

/** The test bridge, bundled from its TypeScript source (same createBridge and channel list as the preload). */
export function bridgeShim(): Promise<string> {
  return browserScript('bridge-shim.ts');
}

export interface HarnessOptions {
  settings?: Partial<Settings>;
  /** The user data folder of an earlier run (an app restart); left in place on close. By default a new one, removed on close. */
  userData?: string;
  deps?: Partial<Pick<MainDeps, 'reconnect' | 'uploadRetry' | 'uploadTimeouts' | 'previewer' | 'watchSettleMs' | 'onWatchEvent'>>;
}

export class AppHarness {
  readonly pickQueue: (string[] | null)[] = [];
  readonly folderQueue: (string | null)[] = [];
  readonly opened: string[] = [];
  readonly notifications: { title: string; body: string }[] = [];
  readonly pageErrors: string[] = [];
  /** Preload messages the main side refused (electron-main.ts logs them). */
  readonly refusedMessages: string[] = [];
  readonly metricsPages: Page[] = [];
  readonly paths = appPaths(DESKTOP_DIR);
  main!: MainHandlers;
  settings!: SettingsStore;
  browser!: Browser;
  context!: BrowserContext;
  userData!: string;
  private nextSenderId = 1;
  private ownsUserData = true;

  static async start(options: HarnessOptions = {}): Promise<AppHarness> {
    const harness = new AppHarness();
    await harness.init(options);
    return harness;
  }

  private async init(options: HarnessOptions): Promise<void> {
    this.ownsUserData = options.userData === undefined;
    this.userData = options.userData ?? (await tempDir('user-data'));
    this.settings = await SettingsStore.open(this.userData);
    if (options.settings) await this.settings.update(options.settings);
    this.main = createMainHandlers({
      settings: this.settings,
      session: SessionStore.in(this.userData),
      dialogs: {
        pickPaths: async () => this.pickQueue.shift() ?? null,
        chooseFolder: async () => this.folderQueue.shift() ?? null,
      },
      openFolder: async (folder) => {
        this.opened.push(folder);
      },
      notify: (title, body) => {
        this.notifications.push({ title, body });
      },
      openMetricsWindow: () => {
        void this.openMetricsWindow();
      },
      reconnect: { minDelayMs: 200, maxDelayMs: 1000 },
      ...options.deps,
    });
    this.browser = await launchBrowser();
    this.context = await this.browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
    await this.context.addInitScript({ content: await bridgeShim() });
    // Bound for every page of the context, like ipcMain.handle for every webContents: the
    // sender check, not the binding's presence, is what keeps foreign pages out.
    await this.context.exposeBinding('__imgfleetInvoke', async (source, channel: unknown, args: unknown) => {
      // The same check electron-main.ts makes on event.senderFrame.url.
      const url = source.frame.url();
      if (!isTrustedSenderUrl(url, this.paths.rendererDir)) {
        return { ok: false, error: { message: `refused IPC from ${url}`, code: 'FORBIDDEN_SENDER' } };
      }
      const sender = this.senderFor(source.page);
      const result = await dispatch(this.main.handlers, channel, sender, args);
      // Electron delivers webContents.send messages before a later invoke reply; keep that order.
      await sender.drained();
      return result;
    });
  }

  /** A page of the app, bound to the handler map like a BrowserWindow with the preload. */
  async openPage(file: string): Promise<Page> {
    const page = await this.context.newPage();
    await attachPreloadWorld(page, (channel, args) => this.fromPreload(page, channel, args));
    page.on('pageerror', (err) => this.pageErrors.push(`${file}: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') this.pageErrors.push(`${file}: ${message.text()}`);
    });
    await page.goto(fileUrl(file));
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    return page;
  }

  openMainWindow(): Promise<Page> {
    return this.openPage(this.paths.mainPage);
  }

  /**
   * A main window with no cards. A new window shows the last session (the
   * batch an earlier test of the same run left), as the app does after a
   * restart; Clear starts a new batch instead.
   */
  async openEmptyMainWindow(): Promise<Page> {
    const page = await this.openMainWindow();
    if ((await page.locator('#cards li.card').count()) > 0) {
      await page.click('#clear');
      await page.waitForFunction(() => document.querySelectorAll('#cards li.card').length === 0);
    }
    return page;
  }

  async openMetricsWindow(): Promise<Page> {
    const page = await this.openPage(this.paths.metricsPage);
    this.metricsPages.push(page);
    return page;
  }

  /** What electron-main.ts does with ipcMain.on messages: the sender check, then receive(). */
  private fromPreload(page: Page, channel: unknown, args: unknown): void {
    const url = page.url();
    if (!isTrustedSenderUrl(url, this.paths.rendererDir)) {
      this.refusedMessages.push(`refused ${String(channel)} from ${url}`);
      return;
    }
    const refused = receive(this.main.listeners, channel, this.senderFor(page), args);
    if (refused) this.refusedMessages.push(`refused ${String(channel)}: ${refused.message}`);
  }

  private readonly senders = new WeakMap<Page, IpcSender & { drained(): Promise<void> }>();

  private senderFor(page: Page): IpcSender & { drained(): Promise<void> } {
    const known = this.senders.get(page);
    if (known) return known;
    const id = this.nextSenderId++;
    // Events are delivered in order, like webContents.send.
    let queue: Promise<unknown> = Promise.resolve();
    const sender: IpcSender & { drained(): Promise<void> } = {
      id,
      get url() {
        return page.url();
      },
      send<E extends EventChannel>(channel: E, payload: EventPayloads[E]) {
        if (page.isClosed()) return;
        queue = queue.then(() => page.evaluate(([c, p]) => window.__imgfleetEmit(c, p), [channel, payload] as const)).catch(() => undefined);
      },
      onClosed(listener) {
        page.once('close', listener);
      },
      async drained() {
        await queue;
      },
    };
    this.senders.set(page, sender);
    return sender;
  }

  async screenshot(page: Page, name: string): Promise<string> {
    await fs.mkdir(TEST_OUTPUT_DIR, { recursive: true });
    const file = path.join(TEST_OUTPUT_DIR, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async close(): Promise<void> {
    this.main?.dispose();
    await this.browser?.close().catch(() => undefined);
    if (this.ownsUserData) await removeDir(this.userData);
  }
}
