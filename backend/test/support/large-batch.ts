/**
 * A batch whose results add up to many MiB (PNG results of grainy photos,
 * which do not compress), uploaded and processed through the real API, for
 * the download tests and the slow-readers bench.
 */
import type { ImageSummary, UploadResponse } from '../../src/contract/api.js';
import { waitFor } from './backend.js';
import { makeImage } from './images.js';

export interface LargeBatch {
  batchId: string;
  images: ImageSummary[];
  /** Sum of the results' sizes. */
  resultBytes: number;
}

async function uploadInto(url: string, batchId: string | undefined, photo: Buffer, names: string[]): Promise<UploadResponse> {
  const form = new FormData();
  form.append('options', JSON.stringify({ format: 'png', width: 2400, height: 2400 }));
  for (const name of names) form.append('images', new Blob([photo], { type: 'image/jpeg' }), name);
  const target = new URL('/api/v1/images', url);
  if (batchId) target.searchParams.set('batchId', batchId);
  const res = await fetch(target, { method: 'POST', body: form });
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as UploadResponse;
}

async function completed(url: string, batchId: string, count: number): Promise<ImageSummary[]> {
  return waitFor(
    async () => {
      const res = await fetch(`${url}/api/v1/images?batchId=${batchId}&limit=500`);
      const { images } = (await res.json()) as { images: ImageSummary[] };
      if (images.some((i) => i.status === 'failed')) throw new Error(`an image failed: ${images.find((i) => i.status === 'failed')?.error}`);
      return images.length === count && images.every((i) => i.status === 'completed') ? images : null;
    },
    300_000,
    250,
  );
}

/** Uploads copies of a grainy 2000x1500 photo as PNG results until they add up to `minBytes`. */
export async function makeLargeBatch(url: string, minBytes: number): Promise<LargeBatch> {
  const photo = await makeImage({ width: 2000, height: 1500, seed: 77, grain: 14, quality: 95 });
  const first = await uploadInto(url, undefined, photo, ['p-001.jpg', 'p-002.jpg']);
  const sample = await completed(url, first.batchId, 2);
  const each = sample[0]?.processedBytes ?? 1;
  const total = Math.max(2, Math.ceil(minBytes / each));
  for (let at = 3; at <= total; at += 8) {
    const names = Array.from({ length: Math.min(8, total - at + 1) }, (_, i) => `p-${String(at + i).padStart(3, '0')}.jpg`);
    await uploadInto(url, first.batchId, photo, names);
  }
  const images = await completed(url, first.batchId, total);
  return { batchId: first.batchId, images, resultBytes: images.reduce((sum, i) => sum + (i.processedBytes ?? 0), 0) };
}
