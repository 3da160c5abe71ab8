/**
 * The retention sweep. Every pod runs it every RETENTION_SWEEP_SECONDS; a
 * Postgres advisory lock (tried, never waited for) lets one pod at a time do
 * the work, so three replicas never fight over the same rows. A run issues
 * at most `maxStatements` statements of `rowsPerStatement` rows per kind of
 * work; when it hits that cap the next run follows at once (after a short
 * pause), so a backlog drains in small steps instead of one long lock.
 */
import type pg from 'pg';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Logger } from '../logger.js';
import { sweepOrphans } from './orphans.js';
import { deleteExpiredBatchRows, dropExpiredOriginals, expiredBatches } from './store.js';

/** Arbitrary, fixed, distinct from the migrations' key. */
const SWEEP_LOCK_KEY = 0x1f9e_e8;
/** Pause between runs while a backlog drains. */
const BACKLOG_PAUSE_MS = 1000;
/** The first run comes this soon at most: a pod restarted more often than the period still sweeps. */
const FIRST_RUN_MAX_MS = 30_000;

export interface RetentionPolicy {
  /** 0: keep originals. */
  originalHours: number;
  /** 0: keep batches. */
  batchDays: number;
  periodMs: number;
  rowsPerStatement: number;
  /** Per kind of work, per run. */
  maxStatements: number;
  /** Blobs no row names are removed once this old (BLOB_ORPHAN_GRACE_SECONDS). */
  orphanGraceMs: number;
}

export interface SweepResult {
  /** False when another pod held the sweep lock. */
  ran: boolean;
  originalsDropped: number;
  batchesDeleted: number;
  imagesDeleted: number;
  /** Blobs no row named, and writes that never finished. */
  orphansRemoved: number;
  /** The run stopped at its statement cap: more may be due. */
  capped: boolean;
}

export type SweepListener = (result: SweepResult) => void;

export function retentionEnabled(policy: Pick<RetentionPolicy, 'originalHours' | 'batchDays'>): boolean {
  return policy.originalHours > 0 || policy.batchDays > 0;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;
  private stopped = false;
  private readonly listeners: SweepListener[] = [];

  constructor(
    private readonly db: pg.Pool,
    private readonly blobs: BlobStore,
    private readonly policy: RetentionPolicy,
    private readonly logger: Logger,
  ) {}

  onSweep(listener: SweepListener): void {
    this.listeners.push(listener);
  }

  /** Runs even with both retention settings at 0: orphaned blobs are swept whatever the policy. */
  start(): void {
    this.stopped = false;
    this.schedule(Math.min(this.policy.periodMs, FIRST_RUN_MAX_MS));
  }

  /**
   * Stops the timer; a run in progress ends after its current statement.
   * Waits for that at most `waitMs`, so a database that stopped answering
   * never holds up a shutdown.
   */
  async stop(waitMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([
      this.running.then(
        () => undefined,
        () => undefined,
      ),
      timeout,
    ]);
    clearTimeout(timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce();
      this.running.then(
        (result) => this.schedule(result.capped ? BACKLOG_PAUSE_MS : this.policy.periodMs),
        (err: unknown) => {
          this.logger.warn({ err }, 'retention sweep failed; will try again next period');
          this.schedule(this.policy.periodMs);
        },
      );
    }, ms);
    // The sweep never keeps a process alive on its own.
    this.timer.unref();
  }

  /** One run: takes the sweep lock if free, then works within its caps. */
  async sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { ran: false, originalsDropped: 0, batchesDeleted: 0, imagesDeleted: 0, orphansRemoved: 0, capped: false };
    const client = await this.db.connect();
    let broken: Error | undefined;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SWEEP_LOCK_KEY]);
      if (!rows[0]?.locked) return result;
      result.ran = true;
      try {
        await this.dropOriginals(client, result);
        await this.deleteBatches(client, result);
        // What expired is counted before the slower orphan sweep: its effects are already visible.
        this.report(result);
        if (!result.capped) await this.sweepOrphans(client, result);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK_KEY]);
      }
    } catch (err) {
      // A connection that failed mid-run may still hold the lock: destroy it (the lock goes with it).
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
    return result;
  }

  private async sweepOrphans(client: pg.PoolClient, result: SweepResult): Promise<void> {
    result.orphansRemoved = await sweepOrphans(client, this.blobs, new Date(Date.now() - this.policy.orphanGraceMs), () => this.stopped);
    if (result.orphansRemoved > 0) this.logger.info({ orphansRemoved: result.orphansRemoved }, 'blob sweep removed blobs no row names');
  }

  private async dropOriginals(client: pg.PoolClient, result: SweepResult): Promise<void> {
    const { originalHours, rowsPerStatement, maxStatements } = this.policy;
    if (originalHours <= 0) return;
    for (let i = 0; i < maxStatements; i++) {
      if (this.stopped) return;
      const n = await dropExpiredOriginals(client, this.blobs, originalHours, rowsPerStatement);
      result.originalsDropped += n;
      if (n < rowsPerStatement) return;
    }
    result.capped = true;
  }

  private async deleteBatches(client: pg.PoolClient, result: SweepResult): Promise<void> {
    const { batchDays, rowsPerStatement, maxStatements } = this.policy;
    if (batchDays <= 0) return;
    let statements = 0;
    const batches = await expiredBatches(client, batchDays, rowsPerStatement);
    for (const batchId of batches) {
      let rowsOfBatch = 0;
      for (;;) {
        if (this.stopped) return;
        if (statements++ >= maxStatements) {
          result.capped = true;
          return;
        }
        const n = await deleteExpiredBatchRows(client, this.blobs, batchId, batchDays, rowsPerStatement);
        rowsOfBatch += n;
        result.imagesDeleted += n;
        if (n < rowsPerStatement) break;
      }
      if (rowsOfBatch > 0) result.batchesDeleted++;
    }
    if (batches.length === rowsPerStatement) result.capped = true;
  }

  private report(result: SweepResult): void {
    for (const l of this.listeners) l(result);
    const { originalsDropped, batchesDeleted, imagesDeleted, capped } = result;
    if (originalsDropped + imagesDeleted > 0) {
      this.logger.info({ originalsDropped, batchesDeleted, imagesDeleted, more: capped }, 'retention sweep removed expired data');
    } else {
      this.logger.debug({ ran: result.ran }, 'retention sweep: nothing expired');
    }
  }
}
