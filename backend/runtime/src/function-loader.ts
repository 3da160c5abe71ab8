/**
 * Owns the loaded function: prepares it (extracting a ZIP), checks that it
 * loads, and keeps one HandlerHost per context running it (see
 * handler-host.ts). When the watched file changes the new version is first
 * loaded into a probe of its own; only if that works do the contexts' hosts
 * switch to it, each keeping its `context.env`. A version that fails to load
 * is reported once and the previous one keeps serving until the file changes
 * again.
 */
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import { FunctionError, errorMessage } from './errors.js';
import type { ErrorKind } from './errors.js';
import { fileSignature, prepareFunction } from './function-source.js';
import type { Language, PreparedFunction } from './function-source.js';
import { HandlerHost } from './handler-host.js';
import type { HostDriver, HostOptions } from './handler-host.js';
import { jsDriver } from './js-driver.js';
import { pythonDriver } from './python-driver.js';

export interface LoadFailure {
  kind: ErrorKind;
  error: string;
  detail?: string;
}

/** Python's `datetime.fromtimestamp(t).strftime('%Y-%m-%d %H:%M:%S')`: local time, whole seconds. */
export function formatMtime(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Builds the options of the host for a context (undefined: the probe that checks a new version loads). */
export type HostOptionsFor = (contextId: string | undefined) => HostOptions;

export class FunctionLoader {
  private current: PreparedFunction | undefined;
  private driver: HostDriver | undefined;
  private readonly hosts = new Map<string, HandlerHost>();
  private watchPath: string;
  private loadedSignature: string | undefined;
  private failedSignature: string | undefined;
  private missingWarned = false;
  private closed = false;
  /** Seconds since the epoch, of the version serving. */
  mtime = 0;
  name: string;

  constructor(
    private readonly config: RuntimeConfig,
    private readonly log: Logger,
    private readonly hostOptions: HostOptionsFor,
    /** Folders first on the Python handlers' import path (packages installed at start). */
    private readonly pythonPath: string[] = [],
  ) {
    this.watchPath = config.functionPath;
    this.name = config.handlerFunction ?? 'handler';
  }

  get loaded(): boolean {
    return this.loadedSignature !== undefined && this.driver !== undefined;
  }

  get language(): Language | null {
    return this.driver?.language ?? null;
  }

  /** context.function_getmtime, as the course runtime formats it. */
  get mtimeText(): string {
    return formatMtime(this.mtime);
  }

  /** The host running the function for `contextId`, started on its first call; undefined until a version loaded. */
  hostFor(contextId: string): HandlerHost | undefined {
    if (!this.loaded || !this.current) return undefined;
    let host = this.hosts.get(contextId);
    if (!host) {
      host = new HandlerHost(this.driver!, this.current.target, this.hostOptions(contextId));
      this.hosts.set(contextId, host);
    }
    return host;
  }

  /** A context went away: its process (and env) too. */
  async drop(contextId: string): Promise<void> {
    const host = this.hosts.get(contextId);
    this.hosts.delete(contextId);
    await host?.close();
  }

  private newDriver(language: Language): HostDriver {
    const memoryMb = this.config.handlerMemoryMb;
    return language === 'python' ? pythonDriver({ pythonBin: this.config.pythonBin, pythonPath: this.pythonPath, memoryMb }) : jsDriver({ memoryMb });
  }

  /**
   * First load. A missing file is a deployment mistake and throws; a function
   * that does not load is returned as a failure for the caller to report.
   */
  async start(): Promise<LoadFailure | undefined> {
    let signature;
    try {
      signature = await fileSignature(this.config.functionPath);
    } catch (err) {
      throw new FunctionError('load', `FUNCTION_PATH ${this.config.functionPath}: ${errorMessage(err)}`);
    }
    return this.load(signature.signature, true);
  }

  /** Reloads if the watched file changed; returns whether a new version is now serving, or the failure. */
  async checkForChange(): Promise<'unchanged' | 'reloaded' | LoadFailure> {
    let signature;
    try {
      ({ signature } = await fileSignature(this.watchPath));
    } catch {
      if (!this.missingWarned) this.log.warn({ file: this.watchPath }, 'function file is missing; keeping the loaded version');
      this.missingWarned = true;
      return 'unchanged';
    }
    this.missingWarned = false;
    if (signature === this.loadedSignature || signature === this.failedSignature) return 'unchanged';
    return (await this.load(signature, false)) ?? 'reloaded';
  }

  private async load(signature: string, initial: boolean): Promise<LoadFailure | undefined> {
    let next: PreparedFunction;
    try {
      next = await prepareFunction({
        functionPath: this.config.functionPath,
        handlerFunction: this.config.handlerFunction,
        zipLimits: { maxBytes: this.config.zipMaxBytes, maxEntries: this.config.zipMaxEntries },
      });
    } catch (err) {
      return this.failed(signature, err);
    }
    const { target } = next;
    const driver = this.driver?.language === target.language ? this.driver : this.newDriver(target.language);
    const probe = new HandlerHost(driver, target, this.hostOptions(undefined));
    try {
      await probe.load(target);
    } catch (err) {
      await next.dispose();
      return this.failed(signature, err);
    } finally {
      await probe.close();
    }
    if (this.closed) {
      await next.dispose();
      return undefined;
    }
    await this.switchHosts(driver, next);
    await this.current?.dispose();
    this.current = next;
    this.watchPath = next.watchPath;
    this.loadedSignature = next.signature;
    this.failedSignature = undefined;
    this.mtime = next.mtime;
    this.name = target.name;
    this.log.info(
      { handler: target.name, language: target.language, file: target.file, function_getmtime: this.mtime },
      initial ? 'function loaded' : 'function reloaded',
    );
    return undefined;
  }

  private failed(signature: string, err: unknown): LoadFailure {
    this.failedSignature = signature;
    const failure: LoadFailure = {
      kind: err instanceof FunctionError ? err.kind : 'load',
      error: errorMessage(err),
      ...(err instanceof FunctionError && err.detail ? { detail: err.detail } : {}),
    };
    this.log.error({ ...failure, file: this.watchPath }, 'function could not be loaded; waiting for the file to change');
    return failure;
  }

  /** Moves every context's host to the new version (a new language starts them afresh: no env can cross over). */
  private async switchHosts(driver: HostDriver, next: PreparedFunction): Promise<void> {
    if (driver !== this.driver) {
      const old = [...this.hosts.values()];
      this.hosts.clear();
      await Promise.all(old.map((h) => h.close()));
      this.driver = driver;
      return;
    }
    await Promise.all(
      [...this.hosts.entries()].map(async ([contextId, host]) => {
        try {
          await host.load(next.target, false);
        } catch (err) {
          this.log.warn({ err, input_key: contextId }, 'this context could not switch to the new version; it keeps the old one');
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(hosts.map((h) => h.close()));
    await this.current?.dispose();
  }
}
