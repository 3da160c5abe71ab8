/**
 * The IPC channel names, declared once. This module has no dependencies so
 * that the sandboxed preload (and the test bridge that stands in for it) can
 * import it without pulling zod into the renderer: both build their
 * allow-lists from these arrays, so they cannot drift from each other or
 * from the main process's handler map (whose type is keyed by them).
 */

/** Renderer → main requests (ipcRenderer.invoke / ipcMain.handle). */
export const INVOKE_CHANNELS = [
  'settings:get',
  'settings:update',
  'files:pick',
  'files:scan',
  'preview:make',
  'upload:start',
  'upload:cancel',
  'images:list',
  'images:gone',
  'images:retry',
  'images:delete',
  'images:picture',
  'batches:list',
  'batches:delete',
  'session:save',
  'session:restore',
  'download:images',
  'resize:local',
  'compare:pictures',
  'watch:folder',
  'folder:choose',
  'folder:open',
  'events:watch',
  'metrics:watch',
  'metrics:unwatch',
  'stats:get',
  'backend:check',
  'notify',
  'window:open-metrics',
] as const;

/** Main → renderer pushes (webContents.send / ipcRenderer.on). */
export const EVENT_CHANNELS = [
  'upload:progress',
  'upload:result',
  'resize:progress',
  'download:progress',
  'events:status',
  'events:deleted',
  'events:connection',
  'metrics:update',
  'metrics:connection',
  'menu:command',
] as const;

/**
 * Preload → main one-way messages (ipcRenderer.send / ipcMain.on). Only the
 * preload's own code sends them; createBridge never forwards them, so page
 * script cannot. 'drop:paths' reports the paths of a real drop, which the
 * main process then allows 'files:scan' to read (see main/path-grants.ts).
 */
export const SEND_CHANNELS = ['drop:paths'] as const;

export type InvokeChannel = (typeof INVOKE_CHANNELS)[number];
export type EventChannel = (typeof EVENT_CHANNELS)[number];
export type SendChannel = (typeof SEND_CHANNELS)[number];

const invokeSet: ReadonlySet<string> = new Set(INVOKE_CHANNELS);
const eventSet: ReadonlySet<string> = new Set(EVENT_CHANNELS);
const sendSet: ReadonlySet<string> = new Set(SEND_CHANNELS);

export function isInvokeChannel(name: unknown): name is InvokeChannel {
  return typeof name === 'string' && invokeSet.has(name);
}

export function isEventChannel(name: unknown): name is EventChannel {
  return typeof name === 'string' && eventSet.has(name);
}

export function isSendChannel(name: unknown): name is SendChannel {
  return typeof name === 'string' && sendSet.has(name);
}
