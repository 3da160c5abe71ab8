/**
 * A test-support TypeScript file bundled into one browser script (IIFE),
 * once per test process: how the harness injects its stand-ins for what
 * Electron's preload does.
 */
import path from 'node:path';
import * as esbuild from 'esbuild';
import { DESKTOP_DIR } from './paths.js';

const bundles = new Map<string, Promise<string>>();

/** `file` is relative to desktop/test/support/. */
export function browserScript(file: string): Promise<string> {
  let source = bundles.get(file);
  if (!source) {
    source = esbuild
      .build({
        entryPoints: [path.join(DESKTOP_DIR, 'test/support', file)],
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        target: 'chrome120',
        logLevel: 'silent',
      })
      .then((result) => result.outputFiles[0]!.text);
    bundles.set(file, source);
  }
  return source;
}
