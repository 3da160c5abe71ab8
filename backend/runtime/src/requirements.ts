/**
 * Python packages installed at start, as the course image did with
 * NEW_REQUERIMENTS (`pip install --requirement $NEW_REQUERIMENTS`). They go
 * into a folder of their own (`pip install --target`, a writable place under
 * a read-only root file system) that is put on the handlers' PYTHONPATH.
 *
 * The package index is pip's own business: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL,
 * PIP_FIND_LINKS, PIP_NO_INDEX and PIP_TRUSTED_HOST reach pip unchanged
 * through the environment. A failed install (index unreachable, no such
 * package) is reported and the runtime goes on: handlers that do not need the
 * package keep working, and one that does fails to load with a clear error.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import { errorMessage } from './errors.js';

export interface RequirementsResult {
  /** Folders to put on PYTHONPATH (empty when nothing was asked for). */
  pythonPath: string[];
  /** Why the install failed; undefined when it worked or nothing was asked for. */
  error?: string;
  detail?: string;
}

type RequirementsConfig = Pick<RuntimeConfig, 'pythonBin' | 'requirements' | 'requirementsFile' | 'pythonPackagesDir' | 'requirementsTimeoutSeconds'>;

/** The last lines of pip's output: where it says what went wrong. */
function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function runPip(args: string[], config: RequirementsConfig): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(config.pythonBin, ['-m', 'pip', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' },
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, config.requirementsTimeoutSeconds * 1000);
    child.on('error', (err) => {
      output += `\n${err.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

export async function installRequirements(config: RequirementsConfig, log: Logger): Promise<RequirementsResult> {
  const specs = [...config.requirements, ...(config.requirementsFile ? ['--requirement', config.requirementsFile] : [])];
  if (specs.length === 0) return { pythonPath: [] };
  const dir = config.pythonPackagesDir;
  const pythonPath = [dir];
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    log.error({ err, dir }, 'cannot create the folder for Python packages');
    return { pythonPath: [], error: `cannot create ${dir} (PYTHON_PACKAGES_DIR): ${errorMessage(err)}` };
  }
  const what = [...config.requirements, ...(config.requirementsFile ? [`-r ${config.requirementsFile}`] : [])].join(' ');
  log.info({ requirements: what, target: dir, index: process.env.PIP_INDEX_URL ?? null }, 'installing Python requirements');
  const result = await runPip(['install', '--no-cache-dir', '--upgrade', '--target', dir, ...specs], config);
  if (result.code === 0) {
    log.info({ requirements: what }, 'Python requirements installed');
    return { pythonPath };
  }
  const why = result.timedOut ? `took longer than ${config.requirementsTimeoutSeconds} s (REQUIREMENTS_TIMEOUT)` : `pip exited with code ${result.code}`;
  const error = `installing Python requirements (${what}) failed: ${why}; the runtime goes on without them`;
  log.error({ requirements: what, pip_output: tail(result.output) }, error);
  // Whatever did get installed is still usable.
  return { pythonPath, error, detail: tail(result.output) };
}
