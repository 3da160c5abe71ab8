/**
 * The preload's half of the drop check. The preload shares the DOM with the
 * page but runs in its own world, so it can watch real drops itself and tell
 * the main process which paths they carried; the main process then lets
 * 'files:scan' read those paths and no others (main/path-grants.ts).
 *
 * Page script cannot forge a report: it cannot reach ipcRenderer, a File it
 * builds has no path (webUtils.getPathForFile gives ''), and an event it
 * dispatches is not trusted. The listener is registered before any page
 * script runs, on window in the capture phase, so it sees a drop before the
 * page's own handlers can stop it.
 */
export interface DropCaptureOptions {
  /** webUtils.getPathForFile in Electron; '' for a File that did not come from disk. */
  pathForFile: (file: File) => string;
  /** Sends the paths to the main process (one-way, on the 'drop:paths' channel). */
  report(paths: string[]): void;
}

export function installDropCapture(target: Window, options: DropCaptureOptions): void {
  target.addEventListener(
    'drop',
    (event) => {
      const paths = droppedPaths(event, options.pathForFile);
      if (paths.length > 0) options.report(paths);
    },
    { capture: true },
  );
}

/** The disk paths of a trusted drop's files (folders included); none for a synthetic one. */
export function droppedPaths(event: DragEvent, pathForFile: (file: File) => string): string[] {
  if (!event.isTrusted || !event.dataTransfer) return [];
  const paths = new Set<string>();
  for (const file of Array.from(event.dataTransfer.files)) {
    const found = pathForFile(file);
    if (found !== '') paths.add(found);
  }
  return [...paths];
}
