/**
 * What a download needs to know about a batch before its first byte: each
 * image's position in its batch (the naming template's `{index}`: upload
 * order, by id, counting every image the batch still has, so one photo has
 * one name in a single download, in any ZIP of its batch and in the apps),
 * and the completed images a ZIP will hold, with their sizes.
 */
import type { ImageSummary } from '../../contract/api.js';
import { IMAGE_ROW_COLUMNS, type ImageRow } from '../../queue/catalogue.js';
import type { Queryable } from '../../retention/store.js';
import { toImageSummary } from '../image-summary.js';

/** `{index}` of one image: 1 + how many images of its batch were uploaded before it. */
export async function positionInBatch(db: Queryable, image: Pick<ImageSummary, 'id' | 'batchId'>): Promise<number> {
  if (!image.batchId) return 1;
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_images WHERE batch_id = $1 AND id < $2', [image.batchId, image.id]);
  return (rows[0]?.n ?? 0) + 1;
}

export interface ListedResult {
  image: ImageSummary;
  /** Position in the batch, from 1 (`{index}`). */
  position: number;
  size: number;
}

/** The batch's completed results (only `ids`, when given), in upload order, with their positions and sizes. */
export async function completedResults(db: Queryable, batchId: string, ids?: readonly number[]): Promise<ListedResult[]> {
  const { rows } = await db.query<ImageRow & { position: number }>(
    `WITH positions AS (
       SELECT id, row_number() OVER (ORDER BY id)::int AS position FROM processed_images WHERE batch_id = $1
     )
     SELECT ${IMAGE_ROW_COLUMNS}, positions.position
       FROM processed_images JOIN positions USING (id)
      WHERE status = 'completed' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
      ORDER BY id`,
    [batchId, ids ?? null],
  );
  return rows.flatMap((row) => {
    const image = toImageSummary(row);
    // A completed row whose result is gone has nothing to put in a ZIP.
    return image.processedBytes === null ? [] : [{ image, position: row.position, size: image.processedBytes }];
  });
}
