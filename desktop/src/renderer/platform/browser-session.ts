/**
 * The page's batch survives a reload or a closed tab: it is in the URL
 * (`?batch=<id>`: shareable, bookmarkable) and, with its files' names,
 * sizes and ids, in this browser's local storage. At start the URL's batch
 * wins; the storage adds what it knows of the same batch.
 *
 * The photos themselves are not kept: a browser cannot keep a File across
 * a reload without copying its bytes into its own storage (IndexedDB or the
 * origin-private file system), and a batch is hundreds of MB of someone's
 * photos, beyond what a page should hold in a browser's quota (and a
 * shared computer would keep them after the tab is gone). So a file not
 * uploaded yet comes back as a card that asks for it again; picked or
 * dropped again, it takes its old place (see BatchStore.addFiles).
 */
import type { SavedBatch } from './platform.js';

export const BATCH_STORAGE_KEY = 'imgfleet.batch';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The batch the address names, if it names one. */
function batchInUrl(): string | null {
  const id = new URLSearchParams(location.search).get('batch');
  return id !== null && UUID.test(id) ? id.toLowerCase() : null;
}

function stored(): SavedBatch | null {
  try {
    const value = JSON.parse(localStorage.getItem(BATCH_STORAGE_KEY) ?? 'null') as SavedBatch | null;
    if (!value || typeof value.batchId !== 'string' || !UUID.test(value.batchId) || !Array.isArray(value.files)) return null;
    return value;
  } catch {
    return null;
  }
}

export function restoreBatch(): SavedBatch | null {
  const fromUrl = batchInUrl();
  const saved = stored();
  const batch = fromUrl ?? saved?.batchId ?? null;
  if (batch === null) return null;
  const files = saved?.batchId === batch ? saved.files : [];
  // A reload gives the page no File back: every file must be added again to be read.
  return { batchId: batch, files: files.map((file) => ({ ...file, present: false })) };
}

export function saveBatch(batch: SavedBatch): void {
  if (batchInUrl() !== batch.batchId) {
    const url = new URL(location.href);
    url.searchParams.set('batch', batch.batchId);
    history.replaceState(history.state, '', url);
  }
  try {
    localStorage.setItem(BATCH_STORAGE_KEY, JSON.stringify(batch));
  } catch {
    // Over the quota (tens of thousands of files): the URL still names the batch, and the server has what was uploaded.
    localStorage.removeItem(BATCH_STORAGE_KEY);
  }
}
