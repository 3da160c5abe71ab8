/**
 * The desktop window against a real backend through the real HTTP proxy
 * (http-proxy.ts), for tests that give the network its faults: the backend,
 * the proxy, the app with its backend URL set to the proxy, and the main
 * window open once its event stream is connected. `close` stops whatever
 * started, in reverse order (also when the start itself failed part way).
 */
import type { Page } from 'playwright-core';
import { AppHarness, type HarnessOptions } from './app-harness.js';
import { startHttpProxy, type HttpProxy } from './http-proxy.js';
import { startTestBackend, type TestBackend } from './test-backend.js';

export interface WindowBehindProxy {
  backend: TestBackend;
  proxy: HttpProxy;
  harness: AppHarness;
  page: Page;
  close(): Promise<void>;
}

export async function startWindowBehindProxy(pod: string, options: HarnessOptions = {}): Promise<WindowBehindProxy> {
  const started: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of started.splice(0).reverse()) await stop();
  };
  try {
    const backend = await startTestBackend({ POD_NAME: pod });
    started.push(() => backend.stop());
    const proxy = await startHttpProxy(backend.url);
    started.push(() => proxy.close());
    const harness = await AppHarness.start({ ...options, settings: { ...options.settings, backendUrl: proxy.url } });
    started.push(() => harness.close());
    const page = await harness.openMainWindow();
    await page.waitForFunction(() => document.body.dataset.connection === 'open');
    return { backend, proxy, harness, page, close };
  } catch (err) {
    await close();
    throw err;
  }
}
