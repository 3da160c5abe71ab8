/** The one client policy of the backend's API, used by the main process's client and the browser adapter. */
export * from './backoff.js';
export * from './cancellation.js';
export * from './concurrency.js';
export * from './deletions.js';
export * from './errors.js';
export * from './idempotency.js';
export * from './paging.js';
export * from './rejections.js';
export * from './upload-limits.js';
export * from './upload-queue.js';
