/**
 * The hub's two Redis connections (commands, and a subscriber, since a
 * connection in subscriber mode can run no other commands), set up so that
 * Redis being down or restarting costs the process nothing:
 * - no offline queue: a command while disconnected fails at once instead of
 *   piling up in memory until Redis returns;
 * - at most one publish in flight, and every command has a timeout, so a
 *   slow Redis cannot accumulate work either;
 * - reconnection never gives up (capped back-off), and after every reconnect
 *   the subscriber subscribes again and the owner is told (`onReady`) so it
 *   can re-read the keys it missed;
 * - errors are logged once per outage, not once per attempt.
 * Nothing here is awaited by anything the image pipeline calls.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisLinkOptions {
  url: string;
  channel: string;
  /** Upper bound for one command (publish, scan, mget) before it counts as failed. */
  commandTimeoutMs: number;
  logger: Logger;
  onMessage: (text: string) => void;
  /** Called each time the command connection becomes ready (first connect and every reconnect). */
  onReady: () => void;
  /** Called when Redis becomes unreachable or reachable again (see `state`). */
  onStateChange: () => void;
}

/** The link as the health report shows it. */
export interface RedisLinkState {
  connected: boolean;
  /** When the current state began (epoch ms). */
  sinceMs: number;
  /** Why Redis is unreachable; null while connected. */
  error: string | null;
}

/** A short reason for the health report: Node's connection errors are often an AggregateError with no message. */
function reasonOf(err: unknown): string {
  const first = err instanceof AggregateError && err.errors.length > 0 ? (err.errors[0] as unknown) : err;
  if (!(first instanceof Error)) return String(first);
  return first.message || first.name;
}

/** Escapes glob characters so a key prefix is matched literally by SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** One snapshot's entry in its pod's capped history stream. */
export interface HistoryAppend {
  key: string;
  /** `XADD … MAXLEN ~ maxLen`: Redis trims whole macro nodes, so it keeps at least this many. */
  maxLen: number;
  /** The stream expires this long after the pod's last snapshot, so a stopped pod's stream goes too. */
  ttlMs: number;
  derivedText: string;
}

/** An entry read back from a history stream; `atMs` is the time Redis stamped into its id. */
export interface HistoryEntry {
  key: string;
  atMs: number;
  fields: Map<string, string>;
}

export class RedisLink {
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private publishing = false;
  private publishFailing = false;
  private down = false;
  private stopped = false;
  private ready = false;
  private sinceMs = Date.now();
  private lastError: string | null = null;

  constructor(private readonly options: RedisLinkOptions) {
    const common: RedisOptions = {
      enableOfflineQueue: false,
      // A command caught by a disconnect fails rather than being re-sent later: a
      // stale snapshot is not worth publishing, the next period brings a fresh one.
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      commandTimeout: options.commandTimeoutMs,
      // Back off to at most 2 s, and never stop: publishing must resume by itself.
      retryStrategy: (times) => Math.min(100 * times, 2000),
      // We subscribe again ourselves on every `ready` (see below).
      autoResubscribe: false,
    };
    this.client = new Redis(options.url, { ...common, connectionName: 'imgfleet-metrics' });
    this.subscriber = new Redis(options.url, { ...common, connectionName: 'imgfleet-metrics-sub' });

    for (const [name, connection] of [
      ['commands', this.client],
      ['subscriber', this.subscriber],
    ] as const) {
      connection.on('error', (err: Error) => this.noteDown(name, err));
    }
    // A connection that drops says so by `close` (errors come only with the reconnection attempts).
    this.client.on('close', () => this.noteDown('commands', new Error('connection to Redis closed')));
    this.client.on('ready', () => {
      if (this.down) options.logger.info('metrics: Redis reachable again; publishing resumes');
      this.down = false;
      this.setState(true, null);
      options.onReady();
    });
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(options.channel).catch((err: unknown) => this.noteDown('subscriber', err));
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === options.channel) options.onMessage(message);
    });
  }

  /** Up, or down for a reason: the first error of an outage is its reason (later attempts repeat it). */
  private setState(connected: boolean, error: string | null): void {
    if (this.stopped) return;
    if (connected === this.ready && (connected || this.lastError !== null)) return;
    if (connected !== this.ready) this.sinceMs = Date.now();
    this.ready = connected;
    this.lastError = connected ? null : error;
    this.options.onStateChange();
  }

  get state(): RedisLinkState {
    return { connected: this.ready, sinceMs: this.sinceMs, error: this.ready ? null : (this.lastError ?? 'not connected yet') };
  }

  private noteDown(connection: string, err: unknown): void {
    if (this.stopped) return;
    // The command connection's status decides reachability: a command that timed out on a
    // connection that is still up says Redis is slow, and a subscriber down alone only delays messages.
    if (this.client.status !== 'ready') this.setState(false, reasonOf(err));
    if (this.down) return;
    this.down = true;
    this.options.logger.warn({ err, connection }, 'metrics: Redis unreachable; snapshots stay in-process until it is back');
  }

  private notePublishFailure(err: unknown): void {
    // Connection loss is reported by noteDown; this is Redis refusing the
    // command itself (timeout, out of memory, ...). Once per streak.
    if (this.client.status !== 'ready') {
      this.noteDown('commands', err);
      return;
    }
    if (!this.publishFailing && !this.stopped) {
      this.options.logger.warn({ err }, 'metrics: publishing a snapshot to Redis failed');
    }
    this.publishFailing = true;
  }

  get connected(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * SET key (expiring after ttlMs), PUBLISH, and append to the pod's history
   * stream, without waiting. Skipped when disconnected or when the previous
   * publish has not finished: the next period brings a fresher snapshot anyway.
   */
  publish(key: string, text: string, ttlMs: number, history?: HistoryAppend): void {
    if (this.stopped || this.publishing || this.client.status !== 'ready') return;
    this.publishing = true;
    const pipeline = this.client
      .pipeline()
      .set(key, text, 'PX', Math.max(1, Math.round(ttlMs)))
      .publish(this.options.channel, text);
    if (history) {
      pipeline
        .xadd(history.key, 'MAXLEN', '~', history.maxLen, '*', 'snapshot', text, 'derived', history.derivedText)
        .pexpire(history.key, Math.max(1, Math.round(history.ttlMs)));
    }
    pipeline
      .exec()
      .then((results) => {
        const failed = results?.find(([err]) => err !== null);
        if (failed) this.notePublishFailure(failed[0]);
        else this.publishFailing = false;
      })
      .catch((err: unknown) => this.notePublishFailure(err))
      .finally(() => {
        this.publishing = false;
      });
  }

  private async scanKeys(prefix: string): Promise<string[]> {
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', `${globEscape(prefix)}:*`, 'COUNT', 200);
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== '0' && !this.stopped);
    return [...keys];
  }

  /** Every entry since `sinceMs` of every stream under `prefix:` (SCAN, then one XRANGE per stream). */
  async readStreams(prefix: string, sinceMs: number): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = [];
    for (const key of await this.scanKeys(prefix)) {
      if (this.stopped) break;
      const entries = await this.client.xrange(key, String(Math.max(0, Math.floor(sinceMs))), '+');
      for (const [id, flat] of entries) {
        const fields = new Map<string, string>();
        for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
        out.push({ key, atMs: Number(id.split('-')[0]), fields });
      }
    }
    return out;
  }

  /** Every key under `prefix:` with its value (SCAN, then MGET in chunks). */
  async readAll(prefix: string): Promise<{ key: string; text: string }[]> {
    const all = await this.scanKeys(prefix);
    const out: { key: string; text: string }[] = [];
    for (let i = 0; i < all.length; i += 200) {
      const chunk = all.slice(i, i + 200);
      const values = await this.client.mget(...chunk);
      values.forEach((text, j) => {
        if (text !== null) out.push({ key: chunk[j]!, text });
      });
    }
    return out;
  }

  async mget(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.client.mget(...keys);
  }

  /**
   * A pod that stops says so: its key goes at once and the others are told,
   * so they mark it gone instead of stale. Bounded by the command timeout; a
   * Redis that is down just misses the goodbye (the key expires anyway).
   */
  async goodbye(key: string, text: string): Promise<void> {
    if (this.stopped || this.client.status !== 'ready') return;
    await this.client
      .pipeline()
      .del(key)
      .publish(this.options.channel, text)
      .exec()
      .catch(() => undefined);
  }

  /** Closes both connections at once: a graceful QUIT could wait on a Redis that is down. */
  stop(): void {
    this.stopped = true;
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}
