/**
 * BrowserWindow options, as plain data (type-only import of electron) so a
 * test can hold them to Electron's security checklist: context isolation,
 * the sandbox, no Node in any renderer, web security on, no <webview>, no
 * navigation by dropping a file on the window.
 */
import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import type { AppPaths } from './app-paths.js';

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
  };
}

export function mainWindowOptions(paths: AppPaths): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 860,
    minWidth: 720,
    minHeight: 480,
    title: 'imgfleet',
    icon: paths.icon,
    // Shown on 'ready-to-show', so the window never flashes empty.
    show: false,
    webPreferences: secureWebPreferences(paths.preload),
  };
}

export function metricsWindowOptions(paths: AppPaths): BrowserWindowConstructorOptions {
  return {
    width: 1200,
    height: 900,
    minWidth: 640,
    minHeight: 480,
    title: 'imgfleet · cluster metrics',
    icon: paths.icon,
    show: false,
    webPreferences: secureWebPreferences(paths.preload),
  };
}
