/** The retention policy from the configuration, wired to a pod's database, metrics and log. */
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Env } from '../config/env.js';
import type { Logger } from '../logger.js';
import { retentionMetrics } from './metrics.js';
import { RetentionSweeper } from './sweeper.js';

/** Statements of each kind one sweep run issues at most (each of RETENTION_SWEEP_ROWS rows). */
const MAX_STATEMENTS_PER_RUN = 20;

/** Starts this pod's sweep (with both retention settings at 0 it only sweeps orphaned blobs); stop it on shutdown. */
export function startRetention(db: pg.Pool, blobs: BlobStore, env: Env, registry: Registry, logger: Logger): RetentionSweeper {
  const sweeper = new RetentionSweeper(
    db,
    blobs,
    {
      originalHours: env.RETENTION_ORIGINAL_HOURS,
      batchDays: env.RETENTION_BATCH_DAYS,
      periodMs: env.RETENTION_SWEEP_SECONDS * 1000,
      rowsPerStatement: env.RETENTION_SWEEP_ROWS,
      maxStatements: MAX_STATEMENTS_PER_RUN,
      orphanGraceMs: env.BLOB_ORPHAN_GRACE_SECONDS * 1000,
    },
    logger,
  );
  sweeper.onSweep(retentionMetrics(registry));
  sweeper.start();
  return sweeper;
}
