/**
 * Test stand-in for the preload's drop capture, run in an isolated world of
 * the page (CDP's Page.addScriptToEvaluateOnNewDocument with a worldName),
 * as Electron runs the real preload: it shares the DOM with the page but not
 * its globals, so page script can neither call its binding nor change its
 * table of dropped files. It installs the very installDropCapture() of
 * src/preload/drop-capture.ts; only the two ends differ:
 *  - pathForFile: webUtils.getPathForFile knows the disk path of a dropped
 *    File; plain Chromium does not expose it, so the test (from Node, into
 *    this world only) tells it the paths of the files it drops natively;
 *  - report: a CDP binding of this world instead of ipcRenderer.send. The
 *    harness hands the message to receive(), as electron-main.ts does.
 */
import { installDropCapture } from '../../src/preload/drop-capture.js';

export const PRELOAD_WORLD = 'imgfleet-preload';
export const PRELOAD_BINDING = '__imgfleetPreloadSend';

interface PreloadWorldGlobals {
  __imgfleetPreloadSend(payload: string): void;
  __imgfleetSetDroppedFiles(table: Record<string, string>): void;
}

// `node --test <folder>` runs every .js file it finds, this one included: only act in a page.
if (typeof window !== 'undefined') install(globalThis as unknown as PreloadWorldGlobals);

function install(world: PreloadWorldGlobals): void {
  let dropped: Record<string, string> = {};
  world.__imgfleetSetDroppedFiles = (table) => {
    dropped = { ...table };
  };
  installDropCapture(window, {
    pathForFile: (file) => dropped[file.name] ?? '',
    report: (paths) => world.__imgfleetPreloadSend(JSON.stringify({ channel: 'drop:paths', args: { paths } })),
  });
}
