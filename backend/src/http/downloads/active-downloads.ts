/**
 * Downloads in progress (single files and ZIPs), so a graceful stop lets
 * them finish within the grace period before it cuts connections. Event
 * streams are not downloads: they never end by themselves, so they are not
 * counted and a stop cuts them.
 */
import { ActiveUploads } from '../upload/active-uploads.js';

/** The same counter as uploads': `begin()` returns the end, `settled(ms)` waits for none left. */
export class ActiveDownloads extends ActiveUploads {}
