/**
 * Server-Sent Events in a plain browser, reconnecting with our own backoff:
 * the browser's EventSource gives up for good after an HTTP error, and it
 * never tells which error. So after a failure the same URL is asked once
 * with fetch (and the stream cut as soon as the headers arrive) to tell a
 * refused token (401: the page asks for it) from a backend that is down.
 * The token goes in ?access_token= because EventSource cannot set headers.
 */
import type { LiveConnection } from './platform.js';

export interface LiveStreamOptions {
  origin: string;
  /** Path and query, e.g. /api/v1/events?batchId=… */
  path: string;
  token(): string;
  events: Record<string, (data: unknown) => void>;
  onConnection: (state: LiveConnection) => void;
}

const DIAGNOSE_TIMEOUT_MS = 5000;

const withToken = (url: string, token: string): string => (token ? `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : url);

/** Why the stream failed, asked with fetch: null when the backend did not answer at all. */
async function diagnose(url: string, hadToken: boolean): Promise<Pick<LiveConnection, 'error' | 'code'> | null> {
  const abort = new AbortController();
  // A backend that takes the connection but never answers must not stall the reconnection.
  const timer = setTimeout(() => abort.abort(), DIAGNOSE_TIMEOUT_MS);
  try {
    const response = await fetch(url, { signal: abort.signal, headers: { Accept: 'text/event-stream' } });
    if (response.status === 401) {
      return {
        code: 'UNAUTHORIZED',
        error: hadToken ? 'the token saved in this browser was refused (401)' : 'this browser has none saved yet (401)',
      };
    }
    return response.ok ? { error: 'the live stream was interrupted' } : { error: `the backend answered ${response.status}` };
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    // An answering stream is not read: closing it frees the backend's slot.
    abort.abort();
  }
}

export function openLiveStream(options: LiveStreamOptions): () => void {
  const { origin, onConnection } = options;
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let stopped = false;

  const connect = (): void => {
    if (stopped) return;
    const token = options.token();
    const url = withToken(`${origin}${options.path}`, token);
    onConnection({ state: 'connecting', url: origin });
    const current = new EventSource(url);
    source = current;
    current.onopen = () => {
      failures = 0;
      onConnection({ state: 'open', url: origin });
    };
    current.onerror = () => {
      current.close();
      if (stopped || source !== current) return;
      const step = Math.min(15_000, 500 * 2 ** failures++);
      const delay = Math.round(step / 2 + Math.random() * (step / 2));
      void diagnose(url, token !== '').then((why) => {
        if (stopped || source !== current) return;
        onConnection({ state: 'offline', url: origin, error: why?.error ?? 'no connection', retryInMs: delay, ...(why?.code ? { code: why.code } : {}) });
        timer = setTimeout(connect, delay);
      });
    };
    for (const [name, handler] of Object.entries(options.events)) {
      current.addEventListener(name, (event) => {
        let data: unknown;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return; // a malformed message is skipped, the stream goes on
        }
        handler(data);
      });
    }
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
