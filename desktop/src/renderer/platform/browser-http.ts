/**
 * Same-origin fetch with the token, every failure a PlatformError in the
 * shared policy's terms: OFFLINE when the backend did not answer, the
 * backend's `{error, code}` otherwise.
 */
import { failureFromResponse, offlineFailure } from '../../shared/api-policy/index.js';
import type { BrowserSettings } from './browser-settings.js';
import { PlatformError, errorMessage } from './platform.js';

export class BrowserHttp {
  constructor(
    readonly origin: string,
    private readonly settings: BrowserSettings,
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.origin}${path}`, { ...init, headers: { ...this.settings.authHeaders(), ...(init.headers as Record<string, string>) } });
    } catch (err) {
      const offline = offlineFailure(this.origin, errorMessage(err));
      throw new PlatformError(offline.code, offline.message);
    }
    if (!response.ok) {
      let body: unknown = null;
      try {
        body = await response.json();
      } catch {
        // not JSON: the status line says it
      }
      const failure = failureFromResponse(response.status, '', body);
      throw new PlatformError(failure.code, failure.message);
    }
    return response;
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await this.request(path, init)).json() as Promise<T>;
  }
}
