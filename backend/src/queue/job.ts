/**
 * One image this pod is working on, with its state named.
 *
 * Its phase, the work:
 *
 *     held ─► waiting-memory ─► running ─► recording ─► done
 *       │            ▲                                   ▲
 *       └─ (claimed or started by an upload) ┘           │
 *       └──────────── dropped (its upload rolled back, or the pod stopped) ─┘
 *
 * - held: an upload's image that arrived while every thread was busy; it
 *   waits for this pod's next free thread (stored `pending`, leased to us).
 * - waiting-memory: it has a thread and waits for its job's memory.
 * - running: in a worker thread.
 * - recording: its thread is free again; its outcome is being written.
 *
 * Its lease, apart from that: `uncommitted` while the upload that stored it
 * has not committed (no other session can see its row, so there is nothing
 * to renew), then `leased` until `leaseUntil`, or `rolled-back` when that
 * upload failed (its row never existed: nothing to write).
 */
import type { OutputOptions } from '../contract/output-options.js';
import type { JobNeeds } from '../imaging/job-cost.js';

export type JobPhase = 'held' | 'waiting-memory' | 'running' | 'recording' | 'done';
export type LeaseState = 'uncommitted' | 'leased' | 'rolled-back';

const NEXT: Readonly<Record<JobPhase, readonly JobPhase[]>> = Object.freeze({
  held: ['waiting-memory', 'done'],
  'waiting-memory': ['running', 'recording', 'done'],
  running: ['recording', 'done'],
  recording: ['done'],
  done: [],
});

/** Where a job's original is. */
export interface JobOriginal {
  /** The blob's key; null for the postgres store (and rows stored before the blob store), whose bytes are in the row. */
  key: string | null;
  /** The bytes already in hand (the postgres store's upload): not read back out of the row. */
  data?: Buffer;
}

/** Where a locally started image's row is, once its insert returned. */
export interface StoredRow {
  id: number;
  /** True once the upload's transaction committed, false if it rolled back. */
  committed: Promise<boolean>;
}

export class Job {
  phase: JobPhase;
  lease: LeaseState;
  /** Until when (ms epoch) our lease is known to hold; meaningful while `leased`. */
  leaseUntil = 0;
  /** The row's id: from the claim, or once a local upload's insert returned. */
  id: number | undefined;
  /** A handed-over image's bytes in memory, as its place in the ledger counts them. */
  heldBytes = 0;
  /** An upload's image: its row, once its insert returned (undefined: the insert failed). */
  row: Promise<StoredRow | undefined> | undefined;

  constructor(
    readonly origin: 'claimed' | 'upload',
    readonly attempt: number,
    readonly cost: JobNeeds,
    readonly options: OutputOptions,
    public original: JobOriginal,
    start: { phase: 'held' | 'waiting-memory'; id?: number; leaseUntil?: number },
  ) {
    this.phase = start.phase;
    this.id = start.id;
    this.lease = start.leaseUntil === undefined ? 'uncommitted' : 'leased';
    if (start.leaseUntil !== undefined) this.leaseUntil = start.leaseUntil;
  }

  /** Moves to `next`; anything but a step the diagram allows is a bug, and throws. */
  moveTo(next: JobPhase): void {
    if (!NEXT[this.phase].includes(next)) throw new Error(`job ${this.id ?? '(unstored)'}: no transition ${this.phase} → ${next}`);
    this.phase = next;
  }

  /** An upload's image: follows its row from the insert to the commit. */
  follow(stored: Promise<StoredRow | undefined>, leaseSeconds: number): void {
    this.row = stored;
    void stored.then((row) => {
      if (!row) {
        this.lease = 'rolled-back';
        return;
      }
      this.id = row.id;
      void row.committed.then((ok) => {
        if (!ok) this.lease = 'rolled-back';
        else if (this.lease === 'uncommitted') {
          this.lease = 'leased';
          this.leaseUntil = Date.now() + leaseSeconds * 1000;
        }
      });
    });
  }

  get rolledBack(): boolean {
    return this.lease === 'rolled-back';
  }

  /** For an upload's image: its row's id once the upload committed, or undefined if it never will be. */
  async committedId(): Promise<number | undefined> {
    if (!this.row) return this.id;
    const row = await this.row;
    return row && (await row.committed) ? row.id : undefined;
  }
}
