/** What the upload path needs from the rest of the backend. */
import type pg from 'pg';
import type { BlobStore } from '../../blobs/blob-store.js';
import type { OutputOptionsSchema } from '../../contract/output-options.js';
import type { ResizeRules } from '../../imaging/index.js';
import type { Logger } from '../../logger.js';
import type { Dispatcher } from '../../queue/dispatcher.js';
import type { Semaphore } from '../../util/semaphore.js';
import type { ActiveUploads } from './active-uploads.js';

export interface UploadDeps {
  /** Where the originals' bytes go, streamed as they arrive. */
  blobs: BlobStore;
  /** The pool upload transactions take their connection from (one per request in progress). */
  ingestDb: pg.Pool;
  /** When given, images go straight to a free local thread (see Dispatcher.reserveLocal). */
  dispatcher?: Dispatcher;
  rules: ResizeRules;
  /** The output options schema against this server's limits and defaults. */
  optionsSchema: OutputOptionsSchema;
  maxFiles: number;
  /** Files being received at once, across all uploads (their first bytes are held for the header check). */
  memorySlots: Semaphore;
  /** Upload requests holding a transaction at once. */
  requestSlots: Semaphore;
  /** A client that sends nothing for this long mid-body is cut off (408). */
  idleTimeoutMs: number;
  /** Memory the jobs in flight may need at once (JOB_MEMORY_MB): a file whose job never fits is refused. */
  memoryBudgetBytes: number;
  /** How long a request waits for a concurrent one with the same Idempotency-Key. */
  keyWaitMs: number;
  uploads: ActiveUploads;
  logger: Logger;
  onFile?: (bytes: number, accepted: boolean) => void;
}
