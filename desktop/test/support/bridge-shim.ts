/**
 * Test stand-in for the preload, injected into the page before its scripts
 * run. It builds window.imgfleet with the same createBridge() and channel
 * list as src/preload/preload.ts; only the transport differs: Playwright
 * bindings instead of ipcRenderer. The harness calls __imgfleetEmit to push
 * main → renderer events, and tests register dropped files' paths in
 * __imgfleetDropPaths (in Electron, webUtils.getPathForFile knows them).
 * That table is the page's own view, as untrusted as the page: the main side
 * only scans paths the preload's drop capture reported, and that part of the
 * preload runs in an isolated world (preload-world.ts), out of the page's reach.
 */
import { createBridge } from '../../src/shared/bridge.js';
import type { ImgfleetBridge } from '../../src/shared/ipc-contract.js';

declare global {
  interface Window {
    imgfleet?: ImgfleetBridge;
    __imgfleetInvoke(channel: string, args: unknown): Promise<unknown>;
    __imgfleetEmit(channel: string, payload: unknown): void;
    __imgfleetDropPaths: Record<string, string>;
  }
}

// `node --test <folder>` runs every .js file it finds, this one included: only act in a page.
if (typeof window !== 'undefined') install();

function install(): void {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  window.__imgfleetDropPaths = {};
  window.__imgfleetEmit = (channel, payload) => {
    for (const listener of listeners.get(channel) ?? []) listener(payload);
  };
  window.imgfleet = createBridge({
    invoke: (channel, args) => window.__imgfleetInvoke(channel, args),
    subscribe(channel, listener) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(listener);
      return () => set.delete(listener);
    },
    pathForFile: (file) => window.__imgfleetDropPaths[file.name] ?? '',
  });
}
