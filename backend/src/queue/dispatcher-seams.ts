/**
 * What the dispatcher is configured with, and what it needs of the queue
 * table and the worker pool (fakes stand in for both in its unit tests),
 * and what it gives the upload path and the metrics: the dispatcher's
 * seams, apart from its workings (dispatcher.ts).
 */
import type { StagedBlob } from '../blobs/blob-store.js';
import type { OutputOptions, OutputOptionsSchema } from '../contract/output-options.js';
import type { ResizeRules } from '../imaging/index.js';
import type { JobNeeds } from '../imaging/job-cost.js';
import type { BlobInput, ResizeRun } from '../workers/pool.js';
import type { ResizeTaskResult } from '../workers/resize-task.js';
import type { TimeLimitSettings } from '../workers/time-limit.js';
import type { ClaimSource } from './claim-loop.js';
import type { JobOriginal, StoredRow } from './job.js';
import type { LeaseRenewal } from './lease-keeper.js';

export interface DispatcherOptions {
  podName: string;
  leaseSeconds: number;
  maxAttempts: number;
  pollMs: number;
  rules: ResizeRules;
  /** What an earlier row, stored before output options existed, is made with. */
  defaults: OutputOptions;
  /** This server's schema: a claimed row's stored options are checked against it once, at claim. */
  optionsSchema: OutputOptionsSchema;
  /** Memory the jobs in flight may need at once, bytes (their costs' sum stays under it). */
  memoryBudgetBytes: number;
  /** The memory limit the process lives under: the room for jobs also shrinks by what the process itself holds (memory-admission.ts). */
  memoryLimitBytes?: number;
  /** How each job's time limit follows from its work. */
  timeLimit: TimeLimitSettings;
  /** Told what each completed job was expected to cost and how long it took in its thread (machine-speed.ts). */
  observeWork?: (cpuMs: number, workMs: number) => void;
  /** Bytes of uploaded originals held in memory (the postgres store's) that may wait for a thread of this pod. */
  handOffBytes: number;
}

/** A result as the queue records it. */
export interface CompletedResult {
  blob: StagedBlob;
  width: number;
  height: number;
  processingMs: number;
  /** The quality it was encoded at (a target size chooses it). */
  quality?: number;
}

/** What the dispatcher needs of the queue table (a fake in unit tests). */
export interface LeaseStore extends ClaimSource, LeaseRenewal {
  /** A held (handed-over) image starts: false when the hold was lost. */
  startHeld(id: number, workerId: string, leaseSeconds: number): Promise<boolean>;
  complete(id: number, workerId: string, result: CompletedResult): Promise<boolean>;
  fail(id: number, workerId: string, error: string, errorCode: string, processingMs: number): Promise<boolean>;
  /** Back to pending with the attempt counted, or failed for good once `maxAttempts` are used. */
  retryLater(id: number, workerId: string, error: string, errorCode: string, maxAttempts: number): Promise<'pending' | 'failed' | 'lost'>;
}

/** What the dispatcher needs of the worker pool (a fake in unit tests). */
export interface ResizeRunner {
  readonly size: number;
  resize(input: Uint8Array | BlobInput, rules: ResizeRules, run: ResizeRun): Promise<ResizeTaskResult>;
}

/** What the pipeline reports about each finished image (metrics hook). */
export interface JobOutcome {
  id: number;
  status: 'completed' | 'failed';
  errorCode?: string;
  ms: number;
}

/** A thread promised to an upload, now or as the next to free up; see `reserveLocal`. */
export interface LocalRun {
  /**
   * False: a thread is free and the image is `processing` at once. True:
   * handed over to wait for the next free thread; it is stored `pending`
   * but held by this worker (leased to it), and becomes `processing` when
   * its thread starts.
   */
  readonly handedOver: boolean;
  /**
   * Resize the image from `original` (the blob the upload stored, or its
   * bytes), while the upload inserts its row; the result is written once
   * `stored` tells the row's id and its transaction committed, and dropped
   * otherwise.
   */
  start(original: JobOriginal, cost: JobNeeds, options: OutputOptions, stored: Promise<StoredRow | undefined>): void;
  cancel(): void;
}
