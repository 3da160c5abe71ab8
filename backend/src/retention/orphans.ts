/**
 * Blobs no row names: a pod killed between storing a photo and committing
 * its row, a result whose lease was lost while it was being stored, an
 * operator's `TRUNCATE TABLE processed_images`. Once older than the grace
 * (longer than any upload request may take), they are removed, as are
 * writes that never finished.
 */
import { kindOfKey, type BlobStore, type ListedBlob, type Queryable } from '../blobs/blob-store.js';

/** Keys asked about per statement. */
const KEYS_PER_QUERY = 500;

export async function sweepOrphans(db: Queryable, blobs: BlobStore, olderThan: Date, isStopped: () => boolean = () => false): Promise<number> {
  let removed = 0;
  let batch: ListedBlob[] = [];
  const flush = async () => {
    const { rows } = await db.query<{ key: string }>(
      `SELECT k AS key FROM unnest($1::text[]) AS k
        WHERE NOT EXISTS (SELECT 1 FROM processed_images WHERE original_key = k)
          AND NOT EXISTS (SELECT 1 FROM processed_images WHERE processed_key = k)`,
      [batch.map((b) => b.key)],
    );
    batch = [];
    const refs = rows.flatMap((r) => {
      const kind = kindOfKey(r.key);
      return kind ? [{ imageId: 0, kind, key: r.key }] : [];
    });
    await blobs.remove(refs);
    removed += refs.length;
  };
  for await (const blob of blobs.list(olderThan)) {
    if (isStopped()) return removed;
    batch.push(blob);
    if (batch.length >= KEYS_PER_QUERY) await flush();
  }
  if (batch.length) await flush();
  return removed + (await blobs.sweepIncomplete(olderThan));
}
