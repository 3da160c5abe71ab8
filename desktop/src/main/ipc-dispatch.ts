/**
 * One request from a renderer, checked and run: the channel must be on the
 * allow-list, the arguments must pass the channel's zod schema (the renderer
 * is untrusted), and any failure comes back as an {ok:false} envelope with a
 * code. Used by electron-main.ts and by the tests, so both validate alike.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isInvokeChannel, type InvokeChannel } from '../shared/channels.js';
import { invokeSchemas, type HandlerMap, type InvokeResults, type IpcSender } from '../shared/ipc-contract.js';
import type { IpcResult } from '../shared/models.js';
import { errorInfo } from './services/app-error.js';

export function dispatch<C extends InvokeChannel>(handlers: HandlerMap, channel: C, sender: IpcSender, args: unknown): Promise<IpcResult<InvokeResults[C]>>;
export function dispatch(handlers: HandlerMap, channel: unknown, sender: IpcSender, args: unknown): Promise<IpcResult<unknown>>;
export async function dispatch(handlers: HandlerMap, channel: unknown, sender: IpcSender, args: unknown): Promise<IpcResult<unknown>> {
  if (!isInvokeChannel(channel)) {
    return { ok: false, error: { message: `unknown channel ${JSON.stringify(channel)}`, code: 'UNKNOWN_CHANNEL' } };
  }
  const parsed = invokeSchemas[channel].safeParse(args ?? {});
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
    return { ok: false, error: { message: `${channel}: ${message}`, code: 'INVALID_ARGUMENTS' } };
  }
  try {
    // The schema map and the handler map are keyed alike; TS cannot correlate the two lookups.
    const handler = handlers[channel] as (sender: IpcSender, args: unknown) => Promise<unknown>;
    return { ok: true, value: await handler(sender, parsed.data) };
  } catch (err) {
    return { ok: false, error: errorInfo(err) };
  }
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
