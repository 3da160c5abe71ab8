/**
 * Picks the adapter at start-up: the Electron preload defines
 * window.imgfleet; a plain browser (the backend serving this page) does not.
 */
import type { ImgfleetBridge } from '../../shared/ipc-contract.js';
import { createBrowserPlatform } from './browser-platform.js';
import { createElectronPlatform } from './electron-platform.js';
import type { Platform } from './platform.js';

declare global {
  interface Window {
    imgfleet?: ImgfleetBridge;
  }
}

export function selectPlatform(): Platform {
  return window.imgfleet ? createElectronPlatform(window.imgfleet) : createBrowserPlatform();
}
