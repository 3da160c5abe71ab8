/**
 * Results saved from the page: one result as a download named by the
 * template, "Download all" as one ZIP that the backend streams straight to
 * the browser's downloads.
 */
import type { BatchSummary } from '@imgfleet/backend/contract';
import { outputRelativePath, type OutputFormat, type OutputOptions } from '@imgfleet/backend/contract/output-options';
const FORMAT_OF_TYPE: Readonly<Record<string, OutputFormat>> = { 'image/jpeg': 'jpeg', 'image/webp': 'webp', 'image/avif': 'avif', 'image/png': 'png' };

import type { BrowserHttp } from './browser-http.js';
import type { BrowserSettings } from './browser-settings.js';
import { PlatformError, errorCode, errorMessage, type ImageSummary, type Platform, type WriteOutcome } from './platform.js';

/** Saves a same-origin URL or a blob: URL through the browser's downloads (the `download` attribute keeps the page where it is). */
function saveThroughLink(href: string, name: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = name;
  link.rel = 'noopener';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

export class BrowserDownloads {
  constructor(
    private readonly http: BrowserHttp,
    private readonly settings: BrowserSettings,
  ) {}

  download: Platform['download'] = async (items, onResult) => {
    const results: WriteOutcome[] = [];
    // One by one: each is a small JPEG, and the card shows its own outcome.
    for (const item of items) {
      let outcome: WriteOutcome;
      try {
        outcome = await this.saveOne(item);
      } catch (err) {
        outcome = { key: item.key, ok: false, error: errorMessage(err), code: errorCode(err) };
      }
      results.push(outcome);
      onResult(outcome);
    }
    const written = results.filter((r) => r.ok).length;
    return { folder: null, written, failed: results.length - written, results };
  };

  downloadArchive: Platform['downloadArchive'] = async (batchId, ids) => {
    const path = `/api/v1/batches/${encodeURIComponent(batchId)}`;
    // Asked first: a refused or empty ZIP would otherwise be a silent "failed" entry in the browser's downloads.
    const summary = await this.http.json<BatchSummary>(path);
    if (summary.completed === 0) throw new PlatformError('NOT_FOUND', 'no image of this batch has completed yet');
    const name = `imgfleet-${batchId.slice(0, 8)}.zip`;
    // A plain link: the browser streams the ZIP to disk as the backend writes it, nothing held in the page.
    // Links cannot carry an Authorization header, hence the token in the query, as for EventSource.
    // Only the results still on the page: a card removed there stays out of the ZIP.
    // (All of them: no list, so a batch of thousands never makes a URL too long.)
    const only = ids !== undefined && ids.length < summary.completed ? `?ids=${ids.join(',')}` : '';
    saveThroughLink(this.settings.withToken(`${path}/zip${only}`), name);
    return { name };
  };

  private async saveOne(item: { key: string; id: number; name: string; index?: number }): Promise<WriteOutcome> {
    const image = await this.http.json<ImageSummary>(`/api/v1/images/${item.id}`);
    const blob = await (await this.http.request(`/api/v1/images/${item.id}/processed?download`)).blob();
    // `options`: what the server made it with (servers from before the options have none).
    const options = (image as ImageSummary & { options?: OutputOptions | null }).options ?? this.settings.outputOptions();
    const format = (FORMAT_OF_TYPE[blob.type] ?? options.format) satisfies OutputFormat;
    const width = image.width ?? 0;
    const height = image.height ?? 0;
    const relative = outputRelativePath(
      { ...options, format },
      { path: item.name, width, height, id: item.id, ...(item.index === undefined ? {} : { index: item.index }) },
    );
    // A download link names one file: the folders of a folder drop become part of its name.
    const name = relative.split('/').join(' - ');
    const url = URL.createObjectURL(blob);
    saveThroughLink(url, name);
    // The download has taken the blob by then; a minute leaves room for a slow disk.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return { key: item.key, ok: true, path: name, width, height, bytes: blob.size };
  }
}
