/**
 * A Server-Sent Events connection that stays up: the `eventsource` client
 * (with a fetch that adds the bearer token), reconnected by us with
 * exponential backoff after any error, including HTTP errors after which
 * EventSource itself would give up. A watchdog reconnects when not even the
 * backend's heartbeat comments (every 15 s) arrive, which catches
 * half-open connections that never report an error.
 */
import { EventSource, type FetchLike } from 'eventsource';
import type { ConnectionState } from '../../shared/models.js';

export interface LiveStreamOptions {
  url: () => string;
  /** What the connection state names as the server (the backend's base URL, not the stream's). */
  label?: () => string;
  headers: () => Record<string, string>;
  /** SSE event names to deliver (`event: <name>` lines). */
  events: readonly string[];
  onEvent: (type: string, data: unknown) => void;
  onState: (state: ConnectionState) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Silence after which the connection is presumed dead. */
  idleTimeoutMs?: number;
}

export class LiveStream {
  private source: EventSource | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastActivity = 0;
  private stopped = true;
  private current: ConnectionState;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly idleTimeoutMs: number;

  constructor(private readonly options: LiveStreamOptions) {
    this.minDelayMs = options.minDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    this.current = { state: 'connecting', url: this.label() };
  }

  private label(): string {
    return this.options.label?.() ?? this.options.url();
  }

  get state(): ConnectionState {
    return this.current;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes the connection and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    this.retryTimer = undefined;
    this.watchdog = undefined;
    this.source?.close();
    this.source = undefined;
  }

  /** Reconnects at once (e.g. after the backend URL or token changed). */
  restart(): void {
    this.stop();
    this.failures = 0;
    this.start();
  }

  private setState(state: ConnectionState): void {
    this.current = state;
    this.options.onState(state);
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.options.url();
    const label = this.label();
    this.setState({ state: 'connecting', url: label });
    const source = new EventSource(url, { fetch: this.fetchWithHeaders() });
    this.source = source;
    this.lastActivity = Date.now();

    source.addEventListener('open', () => {
      if (this.source !== source) return;
      this.failures = 0;
      this.lastActivity = Date.now();
      this.setState({ state: 'open', url: label });
    });
    source.addEventListener('error', (event) => {
      if (this.source !== source) return;
      const { code, message } = event as Event & { code?: number; message?: string };
      const reason = code === 401 ? 'the backend refused the API token (401)' : code ? `the backend answered ${code}` : message || 'connection lost';
      this.reconnectLater(reason);
    });
    for (const type of this.options.events) {
      source.addEventListener(type, (event) => {
        if (this.source !== source) return;
        let data: unknown;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return; // a malformed message is skipped, not fatal
        }
        this.options.onEvent(type, data);
      });
    }

    clearInterval(this.watchdog);
    this.watchdog = setInterval(
      () => {
        if (this.source === source && Date.now() - this.lastActivity > this.idleTimeoutMs) {
          this.reconnectLater(`no data or heartbeat for ${Math.round(this.idleTimeoutMs / 1000)} s`);
        }
      },
      Math.max(250, this.idleTimeoutMs / 3),
    );
    this.watchdog.unref();
  }

  private reconnectLater(reason: string): void {
    this.source?.close();
    this.source = undefined;
    clearInterval(this.watchdog);
    if (this.stopped) return;
    const step = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this.failures);
    const delay = Math.round(step / 2 + Math.random() * (step / 2));
    this.failures++;
    this.setState({ state: 'offline', url: this.label(), error: reason, retryInMs: delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** fetch with the auth headers, counting every received chunk (heartbeats included) as a sign of life. */
  private fetchWithHeaders(): FetchLike {
    return async (input, init) => {
      const response = await fetch(input, { ...init, headers: { ...init.headers, ...this.options.headers() } });
      if (!response.body) return response;
      const touch = (): void => {
        this.lastActivity = Date.now();
      };
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
          transform(chunk, controller) {
            touch();
            controller.enqueue(chunk);
          },
        }),
      );
      return {
        body,
        url: response.url,
        status: response.status,
        redirected: response.redirected,
        headers: response.headers,
      };
    };
  }
}
