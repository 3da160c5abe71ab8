/** What downloads and local resizes say: on each card (saved where, skipped, or why not) and in the notice. */
import type { WriteOutcome, WriteSummary } from '../platform/platform.js';
import { plural } from '../ui/format.js';
import { reasonOf } from './cards-view.js';
import type { WindowContext } from './window-context.js';

export function noteOutcome(ctx: WindowContext, outcome: WriteOutcome, verb: string): void {
  const { store } = ctx;
  if (outcome.ok && outcome.skipped) store.setNote(outcome.key, `Skipped: ${outcome.path} exists (name taken: skip)`);
  else if (outcome.ok) {
    store.setNote(outcome.key, `${verb} ${outcome.path}`);
    store.setResultBytes(outcome.key, outcome.bytes);
  } else {
    // A card that already shows this reason (its check, or the cluster's) is not told it twice. Known by
    // its code: libvips words one file's failure differently from one decode to the next.
    const card = store.get(outcome.key);
    const shown = card ? reasonOf(card) : null;
    const shownCode = card ? (card.errorCode ?? (card.preview.state === 'failed' ? card.preview.code : null)) : null;
    const repeated = shown !== null && (shownCode === outcome.code || shown.includes(outcome.error));
    store.setNote(outcome.key, repeated ? 'Not written: see the reason above' : outcome.error, true);
  }
}

export function reportWrites(ctx: WindowContext, verb: string, summary: WriteSummary): void {
  const { written, failed, folder } = summary;
  const skipped = summary.results.filter((r) => r.ok && r.skipped === true).length;
  const where = folder ? ` into ${folder}` : '';
  const skips = skipped ? ` · ${skipped} skipped (name taken)` : '';
  ctx.notice(`${verb} ${plural(written, 'file')}${where}${skips}${failed ? ` · ${failed} failed (see the cards)` : ''}`, failed > 0);
}
