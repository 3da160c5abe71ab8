/**
 * The notices that say a source behind the charts is failing, one per source
 * (`data-notice`: redis, stale-pods, function), each shown while the backend's
 * health report (contract/metrics.ts) says so and hidden as soon as it no
 * longer does: the backend reports a fact only while it is true.
 */
import type { MetricsHealth } from '../platform/platform.js';
import { h, setText, show } from '../ui/dom.js';

const clock = (iso: string | null): string => {
  const ms = iso === null ? Number.NaN : Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : 'an unknown time';
};

/** What to say about each source, or null when it is fine. */
export function noticeTexts(health: MetricsHealth | null, answeringPod: string | null): Record<'redis' | 'stale-pods' | 'function', string | null> {
  if (!health) return { redis: null, 'stale-pods': null, function: null };
  const { redis, stalePods } = health;
  const who = answeringPod ?? 'the backend';
  const redisText =
    redis.state === 'unreachable'
      ? `Redis is unreachable from ${who} since ${clock(redis.since)} (${redis.error ?? 'no reason given'}): other pods' figures stop arriving; ${who}'s own keep coming.`
      : null;
  const staleText =
    stalePods.length === 0
      ? null
      : `No new snapshot from ${stalePods.map((p) => `${p.pod} since ${clock(p.lastSeenAt)}`).join(', ')}: ${stalePods.length === 1 ? 'it has' : 'they have'} stopped publishing without stopping cleanly.`;
  // One sentence per distinct error: a function that fails the same way for every pod says so once.
  const byError = new Map<string, { at: string; pods: string[] }>();
  for (const e of health.function.errors) {
    const key = `${e.error} (${e.kind})`;
    const entry = byError.get(key) ?? { at: e.at, pods: [] };
    if (e.at > entry.at) entry.at = e.at;
    entry.pods.push(e.pod ?? 'every pod');
    byError.set(key, entry);
  }
  const functionText =
    byError.size === 0
      ? null
      : `The function fails: ${[...byError].map(([error, { at, pods }]) => `${error}, last at ${clock(at)}, for ${pods.join(', ')}`).join('; ')}.`;
  return { redis: redisText, 'stale-pods': staleText, function: functionText };
}

export class HealthNotices {
  private readonly notices = new Map<string, HTMLElement>();

  /** The notices go right after `anchor`, in this order. */
  constructor(anchor: HTMLElement) {
    let after = anchor;
    for (const name of ['redis', 'stale-pods', 'function']) {
      const notice = h('p', { class: 'banner notice', role: 'status', 'data-notice': name, hidden: true });
      after.after(notice);
      after = notice;
      this.notices.set(name, notice);
    }
  }

  /** Shows what is wrong and hides what is not; returns whether anything is wrong. */
  render(health: MetricsHealth | null, answeringPod: string | null): boolean {
    let any = false;
    for (const [name, text] of Object.entries(noticeTexts(health, answeringPod))) {
      const notice = this.notices.get(name)!;
      show(notice, text !== null);
      if (text !== null) setText(notice, text);
      any ||= text !== null;
    }
    return any;
  }
}
