/** Downloads: single results and originals, and batch ZIPs, streamed from a DownloadSource. */
import { ActiveDownloads } from './active-downloads.js';
import type { DownloadSource } from './source.js';

export { ActiveDownloads } from './active-downloads.js';
export { attachmentHeader } from './content-disposition.js';
export { sendBatchZip } from './batch-zip.js';
export { sendSingle } from './single.js';
export { catalogueSource, type DownloadSource } from './source.js';

/** What the routes need for downloads (AppContext.downloads). */
export interface Downloads {
  source: DownloadSource;
  active: ActiveDownloads;
}

export function createDownloads(source: DownloadSource): Downloads {
  return { source, active: new ActiveDownloads() };
}
