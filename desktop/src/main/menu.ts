/**
 * The application menu as a template (plain data; electron-main.ts builds
 * it). Shortcuts that the page itself handles are shown but not registered
 * with the system (registerAccelerator: false), so each key press runs once.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../shared/models.js';

export interface MenuActions {
  command(command: MenuCommand): void;
  openMetrics(): void;
  openWebUi(): void;
  isMac: boolean;
  devTools: boolean;
}

export function buildMenuTemplate(actions: MenuActions): MenuItemConstructorOptions[] {
  const item = (label: string, command: MenuCommand, accelerator?: string): MenuItemConstructorOptions => ({
    label,
    click: () => actions.command(command),
    ...(accelerator ? { accelerator, registerAccelerator: false } : {}),
  });
  const template: MenuItemConstructorOptions[] = [];
  if (actions.isMac) template.push({ role: 'appMenu' });
  template.push(
    {
      label: 'File',
      submenu: [
        item('Add Files…', 'open-files', 'CmdOrCtrl+O'),
        item('Add Folder…', 'open-folder', 'CmdOrCtrl+Shift+O'),
        { type: 'separator' },
        item('Upload All', 'upload', 'CmdOrCtrl+U'),
        item('Cancel Uploads', 'cancel'),
        item('Retry Failed', 'retry-failed'),
        { type: 'separator' },
        item('Download All', 'download-all', 'CmdOrCtrl+Shift+S'),
        item('Choose Output Folder…', 'choose-folder'),
        item('Open Output Folder', 'open-output-folder'),
        item('Resize Locally', 'resize-locally'),
        { type: 'separator' },
        item('Clear', 'clear'),
        item('Settings…', 'settings'),
        { type: 'separator' },
        actions.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { label: 'Cluster Metrics', accelerator: 'CmdOrCtrl+M', click: () => actions.openMetrics() },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
        ...(actions.devTools ? ([{ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' }] as MenuItemConstructorOptions[]) : []),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Open the Web UI of the Backend', click: () => actions.openWebUi() }],
    },
  );
  return template;
}
