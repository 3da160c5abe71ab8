/**
 * The one polite live region that tells a screen reader what happened to
 * the cards: each photo that completed or failed, gathered for a moment so
 * a burst of a hundred completions is one sentence, not a hundred (and
 * not one live region per card, which screen readers read out of order).
 * A card's first state (added, restored) is not news.
 */
import { byId, setText } from '../ui/dom.js';
import { plural } from '../ui/format.js';
import type { BatchStore, CardStatus } from './batch-store.js';
import { reasonOf } from './cards-view.js';

/** How long changes are gathered before they are spoken. */
const GATHER_MS = 600;
/** Up to this many photos are named one by one; more are counted. */
const NAMED = 3;

export class Announcer {
  private readonly region = byId('announcer');
  private readonly seen = new Map<string, CardStatus>();
  private news: { name: string; status: 'completed' | 'failed'; reason: string | null }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly store: BatchStore) {}

  /** Called with the keys the store reports changed. */
  changed(keys: ReadonlySet<string>): void {
    for (const key of keys) {
      const card = this.store.get(key);
      if (!card) {
        this.seen.delete(key);
        continue;
      }
      const before = this.seen.get(key);
      this.seen.set(key, card.status);
      if (before === undefined || before === card.status) continue;
      if (card.status === 'completed' || card.status === 'failed') this.news.push({ name: card.file.name, status: card.status, reason: reasonOf(card) });
    }
    if (this.news.length > 0 && this.timer === null) this.timer = setTimeout(() => this.speak(), GATHER_MS);
  }

  /** A new batch (Clear, another batch opened): its cards' first states are not news. */
  forget(): void {
    this.seen.clear();
  }

  private speak(): void {
    this.timer = null;
    const news = this.news;
    this.news = [];
    setText(this.region, sentence(news));
  }
}

function sentence(news: readonly { name: string; status: 'completed' | 'failed'; reason: string | null }[]): string {
  if (news.length <= NAMED) {
    return news.map((n) => (n.status === 'completed' ? `${n.name} completed.` : `${n.name} failed${n.reason ? `: ${n.reason}` : ''}.`)).join(' ');
  }
  const completed = news.filter((n) => n.status === 'completed').length;
  const failed = news.filter((n) => n.status === 'failed');
  const names = failed
    .slice(0, NAMED)
    .map((n) => n.name)
    .join(', ');
  return `${plural(completed, 'photo')} completed${failed.length ? `, ${failed.length} failed (${names}${failed.length > NAMED ? ', …' : ''})` : ''}.`;
}
