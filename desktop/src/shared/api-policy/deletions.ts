/**
 * Photos deleted on the server while the app was not listening. The apps
 * learn deletions from the event stream; while it was down (offline, the
 * backend restarting) they can only compare what they know with a fresh
 * listing of the batch. An id missing from that listing was deleted, or was
 * skipped by the listing's offset paging because rows before it were
 * deleted meanwhile, so each one is asked about on its own, and only a
 * definite "no such image" counts: anything else (offline again, an error)
 * ends the check with nothing requeued.
 *
 * `known` must be read before the listing starts: an id learnt later may
 * belong to an upload that committed after the listing's first page.
 */
import { mapLimit } from './concurrency.js';

/** The server's code for an image it does not have (GET /api/v1/images/:id → 404). */
export const IMAGE_NOT_FOUND = 'NOT_FOUND';

/** Of the `known` ids, those the listing lacks (in the order known). */
export function absentFromListing(known: Iterable<number>, listed: readonly { id: number }[]): number[] {
  const seen = new Set(listed.map((image) => image.id));
  return [...known].filter((id) => !seen.has(id));
}

/** Which of `ids` the server no longer has; `exists` answers false only for a definite 404 and throws otherwise. */
export async function goneAmong(ids: readonly number[], exists: (id: number) => Promise<boolean>, concurrency = 4): Promise<number[]> {
  const found = await mapLimit(ids, concurrency, (id) => exists(id));
  return ids.filter((_, i) => !found[i]);
}
