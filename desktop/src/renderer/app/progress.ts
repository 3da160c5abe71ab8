/**
 * The overall progress bar's figures: how much of the batch's work is done
 * and when the rest should be, from the recent pace. Each card counts as one
 * unit: uploading it is the first half, the cluster's work the second.
 */
import type { Card } from './batch-store.js';

export function cardWork(card: Card): number {
  switch (card.status) {
    case 'queued':
      return 0;
    case 'uploading':
      return 0.5 * card.progress;
    case 'pending':
      return 0.5;
    case 'processing':
      return 0.75;
    case 'completed':
    case 'failed':
      return 1;
  }
}

interface Sample {
  at: number;
  done: number;
}

/**
 * Estimates the time left from the work done over a sliding window (default
 * the last 20 s), so a stall or a burst shows up quickly but one event does
 * not swing it.
 */
export class EtaEstimator {
  private samples: Sample[] = [];

  constructor(private readonly windowMs = 20_000) {}

  reset(): void {
    this.samples = [];
  }

  /** Records `done` of `total` units at `now`; returns milliseconds left, or null when unknown. */
  update(done: number, total: number, now: number): number | null {
    if (total <= 0 || done >= total) {
      this.reset();
      return done >= total && total > 0 ? 0 : null;
    }
    const last = this.samples.at(-1);
    if (last && done < last.done) this.samples = []; // new work added or cards removed: start over
    this.samples.push({ at: now, done });
    while (this.samples.length > 2 && now - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const elapsed = now - first.at;
    const progressed = done - first.done;
    if (elapsed < 1000 || progressed <= 0) return null;
    return ((total - done) / progressed) * elapsed;
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
