/**
 * One handler process serving ONE context, and its restart rules:
 * the skeleton the Python and JavaScript invokers share. A language only
 * supplies a HostDriver (how to start its side and what a load request
 * says); starting, loading, calling with a deadline, killing on a timeout or
 * crash and starting again are here, once.
 *
 * One host per context is what isolates contexts: a handler that hangs for
 * one input key is killed and restarted without touching another key's
 * process, its timing or its `context.env`.
 */
import type { Logger } from 'pino';
import { FunctionError, errorMessage } from './errors.js';
import type { ErrorKind } from './errors.js';
import type { FunctionTarget } from './function-source.js';
import { HandlerOutput } from './handler-output.js';
import { HandlerGone, TimedOut } from './reply-channel.js';

/** The parts of the handler's context the runtime decides; env and last_execution live with the handler. */
export interface ContextFields {
  host: string;
  port: number;
  input_key: string;
  /** null when REDIS_OUTPUT_KEY is unset (the course runtime passed None). */
  output_key: string | null;
  /** '%Y-%m-%d %H:%M:%S', local time, as the course runtime formats it. */
  function_getmtime: string;
}

export interface CallRequest {
  /** The raw JSON text read from Redis, never re-encoded. */
  input: string;
  context: ContextFields;
}

export type CallOutcome =
  /**
   * `output` is the JSON text to write, or null when the result was empty. `stateLost`: the handler's
   * process had ended since the last call (killed over its memory limit by a stray timer…), so it ran in a new one.
   */
  | { ok: true; output: string | null; stateLost?: boolean }
  | {
      ok: false;
      kind: ErrorKind;
      error: string;
      detail?: string;
      /** The handler's side was restarted: this context's env is gone. */
      stateLost?: boolean;
    };

/** A reply on the wire, the same shape for both languages. */
export interface WireReply {
  id: number;
  ok: boolean;
  output?: string | null;
  kind?: string;
  error?: string;
  detail?: string;
  /** The other side asks to be replaced after this failure (a Python handler whose env fills its memory). */
  restart?: boolean;
}

/** A started handler process. */
export interface HostChannel {
  /** Resolves once the other side says it is ready; `info` is logged. */
  readonly ready: Promise<Record<string, unknown>>;
  readonly alive: boolean;
  /** Why it ended, once it has. */
  readonly endReason: string | undefined;
  request(body: Record<string, unknown>, timeoutMs: number): Promise<WireReply>;
  /** Kills it; with a grace period, asks it to end first. Resolves once it is gone. */
  kill(graceMs?: number): Promise<void>;
}

export interface HostDriver {
  readonly language: 'python' | 'javascript';
  /** 'python process', 'handler process': how messages name the other side. */
  readonly label: string;
  /** What failed when it cannot start: the interpreter (`python3`), or node. */
  readonly program: string;
  /** How a restart ends the hung side ('killed'). */
  readonly stopVerb: string;
  start(output: HandlerOutput, logger: Logger): HostChannel;
  loadRequest(target: FunctionTarget): Record<string, unknown>;
}

export interface HostOptions {
  timeoutMs: number;
  logger: Logger;
  outputMaxBytes: number;
  onOutputDropped?: (bytes: number) => void;
}

/** Runs async sections one at a time: one handler side serves one call at a time. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class HandlerHost {
  private readonly serial = new Serial();
  private readonly output: HandlerOutput;
  private channel: HostChannel | undefined;
  private closed = false;

  constructor(
    private readonly driver: HostDriver,
    private target: FunctionTarget,
    private readonly options: HostOptions,
  ) {
    this.output = new HandlerOutput(options.logger, options.outputMaxBytes, options.onOutputDropped);
  }

  get language(): HostDriver['language'] {
    return this.driver.language;
  }

  /** Whether the process is running (a host starts lazily, on its first call). */
  get started(): boolean {
    return this.channel?.alive === true;
  }

  /** Loads `target` into the running side (starting it if `start`); throws FunctionError('load') and keeps the previous version. */
  load(target: FunctionTarget, start = true): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) throw new FunctionError('load', 'runtime is stopping');
      if (this.channel?.alive) await this.sendLoad(this.channel, target);
      else if (start) await this.sendLoad(await this.startChannel(), target);
      this.target = target;
    });
  }

  call(request: CallRequest): Promise<CallOutcome> {
    return this.serial.run(async (): Promise<CallOutcome> => {
      if (this.closed) return { ok: false, kind: 'crash', error: 'runtime is stopping' };
      const endedBetweenCalls = this.channel && !this.channel.alive ? (this.channel.endReason ?? 'it ended') : undefined;
      let channel: HostChannel;
      try {
        channel = await this.ready();
      } catch (err) {
        return { ok: false, kind: 'load', error: errorMessage(err) };
      }
      if (endedBetweenCalls !== undefined) {
        const { label } = this.driver;
        const message = `${label} had ended between calls (${endedBetweenCalls}); a new one was started, this context's context.env was lost`;
        this.options.logger.warn({ input_key: request.context.input_key }, message);
      }
      this.output.newCall();
      try {
        const reply = await channel.request({ op: 'call', input: request.input, context: request.context }, this.options.timeoutMs);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run during the await
        if (reply.ok || !reply.restart || this.closed) {
          const outcome = toOutcome(reply);
          return endedBetweenCalls === undefined ? outcome : { ...outcome, stateLost: true };
        }
        return await this.replaceAfter(reply, request);
      } catch (err) {
        return await this.recover(err, request);
      } finally {
        this.output.endCall();
      }
    });
  }

  /** Stops the process; pending and later calls fail. Not through `serial`: a hung handler holds it. */
  async close(): Promise<void> {
    this.closed = true;
    const channel = this.channel;
    this.channel = undefined;
    await channel?.kill(500);
  }

  /** A call timed out or the other side died (or was killed over its memory limit): restart, and say this context's env is gone. */
  private async recover(err: unknown, request: CallRequest): Promise<CallOutcome> {
    if (this.closed) return { ok: false, kind: 'crash', error: 'runtime is stopping' };
    const { label, stopVerb } = this.driver;
    if (err instanceof TimedOut) {
      const error = `handler did not return within ${this.options.timeoutMs / 1000} s; its ${label} was ${stopVerb} and restarted, this context's context.env was lost`;
      return this.restart(request, { kind: 'timeout', error });
    }
    const kind = err instanceof HandlerGone && err.kind ? err.kind : 'crash';
    const restarted = kind === 'memory' ? `its ${label} was ${stopVerb} and restarted` : `${label} restarted`;
    return this.restart(request, { kind, error: `${errorMessage(err)}; ${restarted}, this context's context.env was lost` });
  }

  /** The handler's side failed in a way it cannot recover from in place (its env fills its memory) and asked to be replaced. */
  private replaceAfter(reply: WireReply, request: CallRequest): Promise<CallOutcome> {
    const { label, stopVerb } = this.driver;
    const error = `${reply.error ?? 'handler failed'}; its ${label} was ${stopVerb} and restarted, this context's context.env was lost`;
    const kind = (reply.kind as ErrorKind | undefined) ?? 'crash';
    return this.restart(request, { kind, error, ...(reply.detail ? { detail: reply.detail } : {}) });
  }

  /** Replaces the handler's process (killing it if it still runs); the outcome says the env was lost. */
  private async restart(request: CallRequest, failure: { kind: ErrorKind; error: string; detail?: string }): Promise<CallOutcome> {
    await this.stopChannel();
    this.options.logger.error({ input_key: request.context.input_key, kind: failure.kind }, failure.error);
    // Restart now rather than on the next call, so a broken restart shows up in the logs at once.
    try {
      await this.ready();
    } catch (restartErr) {
      this.options.logger.error({ err: restartErr }, `${this.driver.label} could not be restarted; will retry on the next call`);
    }
    return { ok: false, ...failure, stateLost: true };
  }

  /** A running side with the current function loaded. */
  private async ready(): Promise<HostChannel> {
    if (this.channel?.alive) return this.channel;
    const channel = await this.startChannel();
    await this.sendLoad(channel, this.target);
    return channel;
  }

  private async startChannel(): Promise<HostChannel> {
    if (this.closed) throw new FunctionError('load', 'runtime is stopping');
    const channel = this.driver.start(this.output, this.options.logger);
    this.channel = channel;
    try {
      const info = await withTimeout(channel.ready, Math.max(this.options.timeoutMs, 10_000));
      this.options.logger.info(info, `${this.driver.label} started`);
      // close() may have run while we waited; it could not see this channel yet.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() during the await
      if (this.closed) throw new Error('runtime is stopping');
    } catch (err) {
      await channel.kill();
      this.channel = undefined;
      throw new FunctionError('load', `cannot start ${this.driver.program}: ${errorMessage(err)}`);
    }
    return channel;
  }

  private async sendLoad(channel: HostChannel, target: FunctionTarget): Promise<void> {
    let reply: WireReply;
    try {
      reply = await channel.request({ op: 'load', ...this.driver.loadRequest(target) }, this.options.timeoutMs);
    } catch (err) {
      await this.stopChannel();
      const why = err instanceof TimedOut ? `took longer than ${this.options.timeoutMs / 1000} s` : errorMessage(err);
      throw new FunctionError('load', `loading ${target.name}: ${why}`);
    }
    if (!reply.ok) throw new FunctionError('load', reply.error ?? 'load failed', reply.detail);
  }

  private async stopChannel(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.kill();
  }
}

function toOutcome(reply: WireReply): CallOutcome {
  if (reply.ok) return { ok: true, output: reply.output ?? null };
  return {
    ok: false,
    kind: (reply.kind as ErrorKind | undefined) ?? 'exception',
    error: reply.error ?? 'handler failed',
    ...(reply.detail ? { detail: reply.detail } : {}),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
