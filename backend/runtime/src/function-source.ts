/**
 * Finds the user's function: a single .py or .js/.mjs/.cjs file (the course's
 * `/opt/usermodule.py`), a ZIP of several modules, or a folder of them. A ZIP
 * is extracted into a fresh private temp folder for every version, so a
 * reload never mixes files of two versions.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FunctionError } from './errors.js';
import { extractZip } from './safe-unzip.js';
import type { ZipLimits } from './safe-unzip.js';

export type Language = 'python' | 'javascript';

/** What an invoker needs to load the handler. */
export interface FunctionTarget {
  language: Language;
  /** Folder the module is imported from (Python's sys.path entry). */
  root: string;
  /** The module's own file. */
  file: string;
  /** Dotted module name, e.g. `usermodule` or `pkg.main`. */
  module: string;
  functionName: string;
  /** `module.function`, as logs and error records show it. */
  name: string;
  /** A lone file rather than a module inside a folder or ZIP: loaded from its path, not imported by name. */
  standalone: boolean;
}

export interface PreparedFunction {
  target: FunctionTarget;
  /** The file whose changes trigger a reload (the .py/.js, or the .zip). */
  watchPath: string;
  /** fileSignature() of watchPath as it was when this version was prepared. */
  signature: string;
  /** Seconds since the epoch, handed to handlers as context.function_getmtime. */
  mtime: number;
  /** Removes the temp folder of an extracted ZIP; a no-op otherwise. */
  dispose(): Promise<void>;
}

export interface FunctionSourceOptions {
  functionPath: string;
  handlerFunction: string | undefined;
  zipLimits: ZipLimits;
}

const PY_EXT = ['.py'];
const JS_EXT = ['.mjs', '.js', '.cjs'];

/** A cheap fingerprint of the watched file: a ConfigMap update swaps a symlink, so the inode changes too. */
export async function fileSignature(file: string): Promise<{ signature: string; mtime: number }> {
  const st = await stat(file);
  return { signature: `${st.mtimeMs}:${st.size}:${st.ino}`, mtime: st.mtimeMs / 1000 };
}

function splitHandler(handlerFunction: string | undefined): { module: string | undefined; fn: string } {
  if (!handlerFunction) return { module: undefined, fn: 'handler' };
  const dot = handlerFunction.lastIndexOf('.');
  if (dot < 0) return { module: undefined, fn: handlerFunction };
  return { module: handlerFunction.slice(0, dot), fn: handlerFunction.slice(dot + 1) };
}

function languageOf(file: string): Language | undefined {
  const ext = path.extname(file).toLowerCase();
  if (PY_EXT.includes(ext)) return 'python';
  if (JS_EXT.includes(ext)) return 'javascript';
  return undefined;
}

/** The file implementing dotted `module` under `root`, if any. */
function findModule(root: string, module: string): { file: string; language: Language } | undefined {
  const rel = module.split('.').join(path.sep);
  const candidates: [string, Language][] = [
    [`${rel}.py`, 'python'],
    [path.join(rel, '__init__.py'), 'python'],
    ...JS_EXT.map((ext): [string, Language] => [`${rel}${ext}`, 'javascript']),
  ];
  for (const [candidate, language] of candidates) {
    const file = path.join(root, candidate);
    if (existsSync(file)) return { file, language };
  }
  return undefined;
}

async function topLevelModules(root: string): Promise<string[]> {
  const names = await readdir(root, { withFileTypes: true });
  return names
    .filter((d) => d.isFile() && languageOf(d.name) !== undefined)
    .map((d) => d.name.replace(/\.[^.]+$/, ''))
    .sort();
}

/**
 * Resolves the module inside a folder. Without HANDLER_FUNCTION the module is
 * `usermodule` (the course's name), or the only module there is. An archive
 * that wraps everything in one top folder (what "compress folder" makes) is
 * looked into.
 */
async function targetInFolder(folder: string, handlerFunction: string | undefined, origin: string): Promise<FunctionTarget> {
  const { module: wanted, fn } = splitHandler(handlerFunction);
  let root = folder;
  const entries = (await readdir(root, { withFileTypes: true })).filter((d) => d.name !== '__MACOSX');
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only?.isDirectory() && !only.name.startsWith('__')) root = path.join(root, only.name);

  let module = wanted;
  if (module === undefined) {
    const modules = await topLevelModules(root);
    module = modules.includes('usermodule') ? 'usermodule' : modules.length === 1 ? modules[0] : undefined;
    if (module === undefined) {
      throw new FunctionError(
        'load',
        `${origin}: cannot tell which module holds the handler (found ${modules.join(', ') || 'none'}); set HANDLER_FUNCTION=module.function`,
      );
    }
  }
  const found = findModule(root, module);
  if (!found) {
    const modules = await topLevelModules(root);
    throw new FunctionError('load', `${origin}: module ${JSON.stringify(module)} not found (modules there: ${modules.join(', ') || 'none'})`);
  }
  return {
    language: found.language,
    root,
    file: found.file,
    module,
    functionName: fn,
    name: `${module}.${fn}`,
    standalone: false,
  };
}

/** Prepares the function at `functionPath` for loading; throws FunctionError on anything unusable. */
export async function prepareFunction(options: FunctionSourceOptions): Promise<PreparedFunction> {
  const source = path.resolve(options.functionPath);
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new FunctionError('load', `function not found: ${source}`);
  }
  if (info.isDirectory()) {
    const target = await targetInFolder(source, options.handlerFunction, source);
    // A folder has no single mtime worth watching; the module file stands in for it.
    const own = await fileSignature(target.file);
    return { target, watchPath: target.file, ...own, dispose: () => Promise.resolve() };
  }

  // Taken before reading, so a change made while we read triggers another reload.
  const { signature, mtime } = await fileSignature(source);

  if (path.extname(source).toLowerCase() === '.zip') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-fn-'));
    const dispose = () => rm(dir, { recursive: true, force: true });
    try {
      await extractZip(source, dir, options.zipLimits);
      const target = await targetInFolder(dir, options.handlerFunction, source);
      return { target, watchPath: source, signature, mtime, dispose };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  const language = languageOf(source);
  if (!language) {
    throw new FunctionError('load', `unsupported function file ${source}: expected .py, .js, .mjs, .cjs or .zip`);
  }
  // A single file is the module whatever HANDLER_FUNCTION calls it: the course
  // mounts the ConfigMap as usermodule.py while its examples name handler_module.
  const module = path.basename(source).replace(/\.[^.]+$/, '');
  const { fn } = splitHandler(options.handlerFunction);
  return {
    target: {
      language,
      root: path.dirname(source),
      file: source,
      module,
      functionName: fn,
      name: `${module}.${fn}`,
      standalone: true,
    },
    watchPath: source,
    signature,
    mtime,
    dispose: () => Promise.resolve(),
  };
}
