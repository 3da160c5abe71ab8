/**
 * Builds the window.imgfleet object from a transport. The Electron preload
 * passes ipcRenderer; the test bridge passes Playwright bindings. Both use
 * this one function and the channel arrays, so the allow-list and the API's
 * shape are the same in production and in tests.
 */
import { isEventChannel, isInvokeChannel } from './channels.js';
import type { ImgfleetBridge } from './ipc-contract.js';

export interface BridgeTransport {
  invoke(channel: string, args: unknown): Promise<unknown>;
  subscribe(channel: string, listener: (payload: unknown) => void): () => void;
  pathForFile(file: File): string;
}

export function createBridge(transport: BridgeTransport): ImgfleetBridge {
  const bridge = {
    invoke(channel: string, args: unknown): Promise<unknown> {
      if (!isInvokeChannel(channel)) {
        return Promise.resolve({ ok: false, error: { message: `unknown channel "${channel}"`, code: 'UNKNOWN_CHANNEL' } });
      }
      return transport.invoke(channel, args);
    },
    on(channel: string, listener: (payload: unknown) => void): () => void {
      if (!isEventChannel(channel)) throw new Error(`unknown event channel "${channel}"`);
      if (typeof listener !== 'function') throw new TypeError('listener must be a function');
      return transport.subscribe(channel, listener);
    },
    pathForFile(file: File): string {
      return transport.pathForFile(file);
    },
  };
  // The generic signatures cannot be expressed on the object literal above;
  // the channel checks make the cast sound.
  return Object.freeze(bridge) as unknown as ImgfleetBridge;
}
