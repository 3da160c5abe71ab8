/** What the HTTP layer needs from the rest of the backend. */
import type { ResizeRules } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { Notifications } from '../queue/notifications.js';
import type { ServerConfig, Stats } from '../contract/api.js';
import type { StatusCache } from '../queue/status-cache.js';
import type { Downloads } from './downloads/index.js';
import type { ImagesService } from './images-service.js';
import type { UploadDeps } from './upload/index.js';

export interface AppContext {
  /** Defaults and limits, as GET /api/v1/config serves them. */
  config: ServerConfig;
  /** What the routes read and change, in the API's shapes: the images service (the routes hold no pool). */
  images: ImagesService;
  /** Image statuses from LISTEN/NOTIFY, for the earlier API's polls. */
  statuses: StatusCache;
  dispatcher: Dispatcher;
  notifications: Notifications;
  rules: ResizeRules;
  logger: Logger;
  podName: string;
  /** Where downloads read bytes from, and the downloads in progress (a graceful stop waits for them). */
  downloads: Downloads;
  /** Everything the upload routes need (slots, limits, the transaction pool). */
  upload: UploadDeps;
  /** False while starting or draining. */
  isReady(): boolean;
  /** Why the pod cannot take uploads now (starved of slots, database down), or undefined when it can. */
  notReadyReason(): Promise<string | undefined>;
}

export async function collectStats(ctx: AppContext): Promise<Stats> {
  const [counts, recent] = await Promise.all([ctx.images.counts(), ctx.images.recent(10)]);
  return {
    ...counts,
    activeThreads: ctx.dispatcher.busy,
    totalThreads: ctx.dispatcher.threads,
    processedCount: ctx.dispatcher.processedCount,
    pod: ctx.podName,
    recent,
  };
}
