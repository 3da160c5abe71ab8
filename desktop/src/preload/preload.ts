/**
 * The sandboxed preload. It exposes exactly one object, window.imgfleet,
 * built by createBridge from the shared channel list: invoke() and on() only
 * accept listed channels, listeners never see Electron's event object (it
 * carries the sender), and ipcRenderer itself is never exposed. It also
 * reports the paths of real drops to the main process, which reads only
 * those (drop-capture.ts). Bundled to CommonJS (dist/preload/preload.cjs):
 * sandboxed preloads cannot be ESM.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { createBridge } from '../shared/bridge.js';
import type { SendArgs } from '../shared/ipc-contract.js';
import { installDropCapture } from './drop-capture.js';

// Dropped files (and folders) have no path in the web platform; Electron tells it.
const pathForFile = (file: File): string => webUtils.getPathForFile(file);

// Before the page's scripts run, so the report precedes the page's own 'files:scan' on the same pipe.
installDropCapture(window, {
  pathForFile,
  report: (paths) => {
    const args: SendArgs['drop:paths'] = { paths };
    ipcRenderer.send('drop:paths', args);
  },
});

const bridge = createBridge({
  invoke: (channel, args) => ipcRenderer.invoke(channel, args),
  subscribe: (channel, listener) => {
    const forward = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => {
      ipcRenderer.removeListener(channel, forward);
    };
  },
  pathForFile,
});

contextBridge.exposeInMainWorld('imgfleet', bridge);
