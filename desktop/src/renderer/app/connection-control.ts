/**
 * The live connection as the window shows it: the offline banner, the
 * status bar's dot, and the Settings dialog opened once by itself when the
 * backend asks for a token (later, the banner's button opens it).
 */
import type { LiveConnection } from '../platform/platform.js';
import { ConnectionBanner } from './connection-banner.js';
import type { StatusBar } from './status-bar.js';
import type { WindowContext } from './window-context.js';

export class ConnectionControl {
  private current: LiveConnection = { state: 'connecting', url: '' };
  private readonly banner: ConnectionBanner;
  /** The settings dialog opens by itself once when the backend asks for a token. */
  private askedForToken = false;

  constructor(
    private readonly ctx: WindowContext,
    private readonly statusBar: StatusBar,
    private readonly openSettings: () => void,
  ) {
    this.banner = new ConnectionBanner(ctx.platform, openSettings);
  }

  get state(): LiveConnection {
    return this.current;
  }

  get offline(): boolean {
    return this.current.state === 'offline';
  }

  /** The backend's address before any stream reported one (from the settings). */
  knowUrl(url: string): void {
    if (this.current.url === '') this.current = { ...this.current, url };
  }

  set(next: LiveConnection): void {
    // Each reconnection attempt after going offline is still offline until it opens: the banner and the
    // buttons must not flicker (nor Upload be clickable) for the moment an attempt takes.
    const state = next.state === 'connecting' && this.current.state === 'offline' ? this.current : next;
    this.current = state;
    this.banner.show(state);
    // Asked once by itself; later, the banner's button opens Settings.
    if (ConnectionBanner.needsToken(state) && !this.askedForToken) {
      this.askedForToken = true;
      this.openSettings();
    }
    if (state.state === 'open') this.askedForToken = false;
    this.statusBar.showConnection(state);
    this.ctx.refresh();
  }
}
