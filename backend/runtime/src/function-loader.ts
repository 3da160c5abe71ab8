/**
 * Owns the loaded function: prepares it (extracting a ZIP), hands it to the
 * invoker of its language, and reloads it when the watched file changes.
 * A version that fails to load is reported once and the previous one keeps
 * serving until the file changes again.
 */
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import { FunctionError, errorMessage } from './errors.js';
import type { ErrorKind } from './errors.js';
import { fileSignature, prepareFunction } from './function-source.js';
import type { Language, PreparedFunction } from './function-source.js';
import type { Invoker } from './invoker.js';
import { JsInvoker } from './js-invoker.js';
import { PythonInvoker } from './python-invoker.js';

export interface LoadFailure {
  kind: ErrorKind;
  error: string;
  detail?: string;
}

function createInvoker(language: Language, config: RuntimeConfig, logger: Logger): Invoker {
  const timeoutMs = config.handlerTimeoutSeconds * 1000;
  return language === 'python'
    ? new PythonInvoker({ pythonBin: config.pythonBin, timeoutMs, logger })
    : new JsInvoker({ timeoutMs, logger });
}

export class FunctionLoader {
  private current: PreparedFunction | undefined;
  private invokerOf: Invoker | undefined;
  private watchPath: string;
  private loadedSignature: string | undefined;
  private failedSignature: string | undefined;
  private missingWarned = false;
  private closed = false;
  /** Seconds since the epoch; context.function_getmtime. */
  mtime = 0;
  name: string;

  constructor(
    private readonly config: RuntimeConfig,
    private readonly log: Logger,
  ) {
    this.watchPath = config.functionPath;
    this.name = config.handlerFunction ?? 'handler';
  }

  get invoker(): Invoker | undefined {
    return this.loadedSignature === undefined ? undefined : this.invokerOf;
  }

  get language(): Language | null {
    return this.invokerOf?.language ?? null;
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
    const reuse = this.invokerOf?.language === target.language ? this.invokerOf : undefined;
    const invoker = reuse ?? createInvoker(target.language, this.config, this.log);
    try {
      await invoker.load(target);
    } catch (err) {
      if (invoker !== reuse) await invoker.close();
      await next.dispose();
      return this.failed(signature, err);
    }
    if (this.closed) {
      await invoker.close();
      await next.dispose();
      return undefined;
    }
    if (invoker !== this.invokerOf) {
      // A change of language starts from empty contexts: no env can cross over.
      await this.invokerOf?.close();
      this.invokerOf = invoker;
    }
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

  async close(): Promise<void> {
    this.closed = true;
    await this.invokerOf?.close();
    await this.current?.dispose();
  }
}
