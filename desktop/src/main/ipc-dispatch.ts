/**
 * One request from a renderer, checked and run: the channel must be on the
 * allow-list, the arguments must pass the channel's zod schema (the renderer
 * is untrusted), and any failure comes back as an {ok:false} envelope with a
 * code. Used by electron-main.ts and by the tests, so both validate alike.
 * The preload's one-way messages get the same checks in receive().
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isInvokeChannel, isSendChannel, type InvokeChannel } from '../shared/channels.js';
import { invokeSchemas, sendSchemas, type HandlerMap, type InvokeResults, type IpcSender, type ListenerMap } from '../shared/ipc-contract.js';
import type { IpcResult } from '../shared/models.js';
import { errorInfo, type ErrorInfo } from './services/app-error.js';

export function dispatch<C extends InvokeChannel>(handlers: HandlerMap, channel: C, sender: IpcSender, args: unknown): Promise<IpcResult<InvokeResults[C]>>;
export function dispatch(handlers: HandlerMap, channel: unknown, sender: IpcSender, args: unknown): Promise<IpcResult<unknown>>;
export async function dispatch(handlers: HandlerMap, channel: unknown, sender: IpcSender, args: unknown): Promise<IpcResult<unknown>> {
  if (!isInvokeChannel(channel)) {
    return { ok: false, error: { message: `unknown channel ${JSON.stringify(channel)}`, code: 'UNKNOWN_CHANNEL' } };
  }
  const parsed = invokeSchemas[channel].safeParse(args ?? {});
  if (!parsed.success) return { ok: false, error: invalid(channel, parsed.error.issues) };
  try {
    // The schema map and the handler map are keyed alike; TS cannot correlate the two lookups.
    const handler = handlers[channel] as (sender: IpcSender, args: unknown) => Promise<unknown>;
    return { ok: true, value: await handler(sender, parsed.data) };
  } catch (err) {
    return { ok: false, error: errorInfo(err) };
  }
}

/**
 * One one-way message from a preload, checked like a request and handed to
 * its listener. Nothing goes back to the page: the result (null, or why it
 * was refused) is for the main process's log.
 */
export function receive(listeners: ListenerMap, channel: unknown, sender: IpcSender, args: unknown): ErrorInfo | null {
  if (!isSendChannel(channel)) return { message: `unknown channel ${JSON.stringify(channel)}`, code: 'UNKNOWN_CHANNEL' };
  const parsed = sendSchemas[channel].safeParse(args ?? {});
  if (!parsed.success) return invalid(channel, parsed.error.issues);
  try {
    listeners[channel](sender, parsed.data);
    return null;
  } catch (err) {
    return errorInfo(err);
  }
}

function invalid(channel: string, issues: readonly { path: PropertyKey[]; message: string }[]): ErrorInfo {
  const message = issues.map((i) => `${i.path.map(String).join('.') || 'arguments'}: ${i.message}`).join('; ');
  return { message: `${channel}: ${message}`, code: 'INVALID_ARGUMENTS' };
}

/** The app's own pages; anything else (a navigated or injected frame) is refused. */
export const APP_PAGES = ['desktop.html', 'desktop-metrics.html'] as const;

export function isTrustedSenderUrl(url: string, rendererDir: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'file:' || parsed.host !== '') return false;
  const file = path.resolve(fileURLToPath(parsed));
  return APP_PAGES.some((page) => file === path.resolve(rendererDir, page));
}

export type { InvokeChannel };
