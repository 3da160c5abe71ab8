/**
 * Where the built pieces are, from the app's root folder (the folder with
 * package.json, or the asar archive's root when packaged). Both the tsc
 * build (dist/src/main/electron-main.js) and the packaged bundle
 * (dist/app/main.cjs) start from app.getAppPath(), so neither depends on
 * where its own file sits.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface AppPaths {
  preload: string;
  rendererDir: string;
  mainPage: string;
  metricsPage: string;
  icon: string;
}

export function appPaths(appRoot: string): AppPaths {
  const rendererDir = path.join(appRoot, 'dist', 'renderer');
  return {
    preload: path.join(appRoot, 'dist', 'preload', 'preload.cjs'),
    rendererDir,
    mainPage: path.join(rendererDir, 'desktop.html'),
    metricsPage: path.join(rendererDir, 'desktop-metrics.html'),
    icon: path.join(appRoot, 'dist', 'build-resources', 'icon.png'),
  };
}

export function fileUrl(file: string): string {
  return pathToFileURL(file).href;
}
