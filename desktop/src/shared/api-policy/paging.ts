/** Reading a whole listing that the backend answers in pages (`limit`/`offset`, with the `total`). */

/** The backend's largest page of images. */
export const PAGE_LIMIT = 1000;

export interface Page<T> {
  images: T[];
  total: number;
}

/** The query string of one page of a batch's images. */
export function batchPageQuery(batchId: string, offset: number, limit = PAGE_LIMIT): string {
  return `batchId=${encodeURIComponent(batchId)}&limit=${limit}&offset=${offset}`;
}

/**
 * Every item, page after page, until a short page or the total is reached
 * (whichever comes first: rows added meanwhile must not make it loop on).
 */
export async function readAllPages<T>(fetchPage: (offset: number, limit: number) => Promise<Page<T>>, limit = PAGE_LIMIT): Promise<T[]> {
  const items: T[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await fetchPage(offset, limit);
    items.push(...page.images);
    if (page.images.length < limit || items.length >= page.total) return items;
  }
}
