/**
 * The Electron entry: windows, menu and IPC wiring, nothing else. Behaviour
 * lives in handlers.ts (one channel → handler map over plain Node services),
 * which this file connects to ipcMain after checking that each request comes
 * from one of the app's own pages.
 */
import { BrowserWindow, Menu, Notification, app, dialog, ipcMain, session, shell, webContents, type WebContents } from 'electron';
import { INVOKE_CHANNELS, SEND_CHANNELS } from '../shared/channels.js';
import type { EventPayloads, IpcSender } from '../shared/ipc-contract.js';
import type { EventChannel } from '../shared/channels.js';
import { appPaths, fileUrl } from './app-paths.js';
import { externalUrlFor } from './external-links.js';
import { createMainHandlers, type MainDeps, type MainHandlers } from './handlers.js';
import { dispatch, isTrustedSenderUrl, receive } from './ipc-dispatch.js';
import { logger } from './logger.js';
import { buildMenuTemplate } from './menu.js';
import { formatShortList, inputExtensions } from '../shared/input-formats.js';
import { SessionStore } from './services/session-store.js';
import { SettingsStore } from './services/settings-store.js';
import { mainWindowOptions, metricsWindowOptions } from './window-options.js';

/** Both cases: some systems' dialogs match extensions case-sensitively. */
const photoExtensions = inputExtensions().flatMap((e) => [e, e.toUpperCase()]);

const paths = appPaths(app.getAppPath());
let mainWindow: BrowserWindow | null = null;
let metricsWindow: BrowserWindow | null = null;
let main: MainHandlers | null = null;

// Every renderer sandboxed, whatever its options say.
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.whenReady().then(start, (err: unknown) => {
    logger.error({ err }, 'imgfleet failed to start');
    app.exit(1);
  });
}

async function start(): Promise<void> {
  lockDownSessions();
  const settings = await SettingsStore.open(app.getPath('userData'));
  for (const problem of settings.loadProblems) logger.warn({ problem }, 'settings: a stored value was refused');
  main = createMainHandlers({ settings, session: SessionStore.in(app.getPath('userData')), ...electronDeps() });
  wireIpc(main);
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      buildMenuTemplate({
        command: (command) => mainWindow?.webContents.send('menu:command', { command }),
        openMetrics: openMetricsWindow,
        openWebUi: () => {
          const url = externalUrlFor(settings.get().backendUrl);
          if (url) void shell.openExternal(url);
        },
        isMac: process.platform === 'darwin',
        devTools: !app.isPackaged,
      }),
    ),
  );

  createMainWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
  });
}

/** What the handlers need from Electron: dialogs, the shell, notifications, windows. */
function electronDeps(): Omit<MainDeps, 'settings' | 'session'> {
  return {
    dialogs: {
      async pickPaths(sender, { folders }) {
        const result = await dialog.showOpenDialog(windowOf(sender), {
          title: folders ? 'Add folders of photos' : `Add photos (${formatShortList()})`,
          properties: folders ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'],
          // Photos are judged by their content; "All files" lets a photo with another name be picked.
          ...(folders
            ? {}
            : {
                filters: [
                  { name: `Photos (${formatShortList()})`, extensions: photoExtensions },
                  { name: 'All files', extensions: ['*'] },
                ],
              }),
        });
        return result.canceled ? null : result.filePaths;
      },
      async chooseFolder(sender) {
        const result = await dialog.showOpenDialog(windowOf(sender), {
          title: 'Where should the results go?',
          properties: ['openDirectory', 'createDirectory'],
        });
        return result.canceled ? null : (result.filePaths[0] ?? null);
      },
    },
    async openFolder(folder) {
      const error = await shell.openPath(folder);
      if (error) throw new Error(error);
    },
    notify(title, body) {
      if (Notification.isSupported()) new Notification({ title, body }).show();
    },
    openMetricsWindow,
  };
}

/** One IpcSender per renderer, so the handlers keep each window's state apart. */
function createSenders(): (contents: WebContents) => IpcSender {
  const senders = new Map<number, IpcSender>();
  return (contents) => {
    let sender = senders.get(contents.id);
    if (!sender) {
      sender = {
        id: contents.id,
        url: contents.getURL(),
        send<E extends EventChannel>(channel: E, payload: EventPayloads[E]) {
          if (!contents.isDestroyed()) contents.send(channel, payload);
        },
        onClosed(listener) {
          contents.once('destroyed', listener);
        },
      };
      senders.set(contents.id, sender);
      contents.once('destroyed', () => senders.delete(contents.id));
    }
    return sender;
  };
}

/** Every listed channel to its handler, behind the sender check. */
function wireIpc(handlers: MainHandlers): void {
  const senderFor = createSenders();
  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, async (event, args: unknown) => {
      const frameUrl = event.senderFrame?.url ?? '';
      if (!isTrustedSenderUrl(frameUrl, paths.rendererDir)) {
        return { ok: false, error: { message: `refused IPC from ${frameUrl || 'an unknown frame'}`, code: 'FORBIDDEN_SENDER' } };
      }
      return dispatch(handlers.handlers, channel, senderFor(event.sender), args);
    });
  }
  // The preload's drop reports: same sender check and validation; nothing to answer, refusals are logged.
  for (const channel of SEND_CHANNELS) {
    ipcMain.on(channel, (event, args: unknown) => {
      const frameUrl = event.senderFrame?.url ?? '';
      if (!isTrustedSenderUrl(frameUrl, paths.rendererDir)) {
        logger.warn({ channel, frameUrl }, 'refused a message from an untrusted frame');
        return;
      }
      const refused = receive(handlers.listeners, channel, senderFor(event.sender), args);
      if (refused) logger.warn({ channel, code: refused.code, reason: refused.message }, 'refused a message');
    });
  }
}

function createMainWindow(): void {
  mainWindow = new BrowserWindow(mainWindowOptions(paths));
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
  void mainWindow.loadURL(fileUrl(paths.mainPage));
}

function openMetricsWindow(): void {
  if (metricsWindow) {
    metricsWindow.focus();
    return;
  }
  metricsWindow = new BrowserWindow(metricsWindowOptions(paths));
  metricsWindow.once('ready-to-show', () => metricsWindow?.show());
  metricsWindow.on('closed', () => {
    metricsWindow = null;
  });
  void metricsWindow.loadURL(fileUrl(paths.metricsPage));
}

function windowOf(sender: IpcSender): BrowserWindow {
  const contents = webContents.fromId(sender.id);
  const window = contents ? BrowserWindow.fromWebContents(contents) : null;
  if (!window) throw new Error('the window that asked is gone');
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Electron's own BrowserWindow, found by its contents
  return window;
}

/** Electron's security checklist for everything a page could ask for. */
function lockDownSessions(): void {
  // No camera, microphone, geolocation, notifications prompts…: notifications come from the main process.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  app.on('web-contents-created', (_event, contents) => {
    // The app's pages never navigate; a link or a script trying to is refused.
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('before-quit', () => {
  main?.dispose();
});
