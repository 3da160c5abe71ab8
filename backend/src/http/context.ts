/** What the HTTP layer needs from the rest of the backend. */
import type { ResizeRules } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { Notifications } from '../queue/notifications.js';
import type { ImageRepository } from '../queue/repository.js';
import type { Queryable } from '../retention/store.js';
import type { Semaphore } from '../util/semaphore.js';
import type { Stats } from './contract.js';
import type { UploadDeps } from './upload.js';

export interface AppContext {
  repo: ImageRepository;
  dispatcher: Dispatcher;
  notifications: Notifications;
  rules: ResizeRules;
  logger: Logger;
  podName: string;
  maxFilesPerUpload: number;
  memorySlots: Semaphore;
  /** Direct access for batch deletion and retention facts (see retention/store.ts). */
  storage: { db: Queryable; rowsPerStatement: number };
  /** False while starting or draining. */
  isReady(): boolean;
  onUploadedFile?: (bytes: number, accepted: boolean) => void;
}

export async function collectStats(ctx: AppContext): Promise<Stats> {
  const [counts, recent] = await Promise.all([ctx.repo.counts(), ctx.repo.recent(10)]);
  return {
    ...counts,
    activeThreads: ctx.dispatcher.busy,
    totalThreads: ctx.dispatcher.threads,
    processedCount: ctx.dispatcher.processedCount,
    pod: ctx.podName,
    recent,
  };
}

/** What an upload route hands to `handleUpload`. */
export function uploadDeps(ctx: AppContext): UploadDeps {
  return {
    repo: ctx.repo,
    dispatcher: ctx.dispatcher,
    rules: ctx.rules,
    maxFiles: ctx.maxFilesPerUpload,
    memorySlots: ctx.memorySlots,
    logger: ctx.logger,
    onFile: ctx.onUploadedFile,
  };
}
