/**
 * The banner above the cards when the live connection is down: "Offline"
 * with the reason and the reconnection countdown, or "API token needed"
 * with a button to Settings (the backend answers; the person can fix it
 * here). A view: it shows what it is given and reports the button.
 */
import { humanNetworkReason } from '../../shared/api-policy/index.js';
import { byId, setText, show } from '../ui/dom.js';
import type { LiveConnection, Platform } from '../platform/platform.js';

export class ConnectionBanner {
  private readonly root = byId('offline-banner');
  private readonly title = byId('offline-title');
  private readonly text = byId('offline-text');
  private readonly action = byId('offline-action');

  constructor(
    private readonly platform: Pick<Platform, 'kind' | 'capabilities'>,
    onEnterToken: () => void,
  ) {
    this.action.addEventListener('click', onEnterToken);
  }

  /** Whether the connection state means the backend wants a token. */
  static needsToken(state: LiveConnection): boolean {
    return state.state === 'offline' && state.code === 'UNAUTHORIZED';
  }

  show(state: LiveConnection): void {
    const offline = state.state === 'offline';
    const needsToken = ConnectionBanner.needsToken(state);
    show(this.root, offline);
    show(this.action, needsToken);
    if (needsToken) {
      setText(this.title, 'API token needed.');
      const keeps = this.platform.kind === 'browser' ? '; this browser keeps it' : '';
      setText(this.text, `The backend at ${state.url || 'this address'} asks for one: ${state.error ?? 'no token given'}. Enter it in Settings${keeps}.`);
    } else if (offline) {
      const retry = state.retryInMs ? ` Reconnecting in ${Math.ceil(state.retryInMs / 1000)} s.` : '';
      const local = this.platform.capabilities.localResize ? 'Previews and “Resize locally” keep working.' : 'Previews keep working.';
      setText(this.title, 'Offline.');
      setText(
        this.text,
        `The backend at ${state.url || 'the configured address'} is unreachable: ${sentence(humanNetworkReason(state.error))} ${local}${retry}`,
      );
    }
    // The program's own words stay at hand for whoever diagnoses it.
    if (state.error) this.root.title = state.error;
    else this.root.removeAttribute('title');
  }
}

/** Ends a clause as a sentence. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
