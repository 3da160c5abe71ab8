/**
 * The sandboxed preload. It exposes exactly one object, window.imgfleet,
 * built by createBridge from the shared channel list: invoke() and on() only
 * accept listed channels, listeners never see Electron's event object (it
 * carries the sender), and ipcRenderer itself is never exposed. Bundled to
 * CommonJS (dist/preload/preload.cjs): sandboxed preloads cannot be ESM.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { createBridge } from '../shared/bridge.js';

const bridge = createBridge({
  invoke: (channel, args) => ipcRenderer.invoke(channel, args),
  subscribe: (channel, listener) => {
    const forward = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => {
      ipcRenderer.removeListener(channel, forward);
    };
  },
  // Dropped files (and folders) have no path in the web platform; Electron tells it.
  pathForFile: (file) => webUtils.getPathForFile(file),
});

contextBridge.exposeInMainWorld('imgfleet', bridge);
