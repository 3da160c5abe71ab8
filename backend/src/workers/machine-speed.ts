/**
 * This machine's speed against the one the job-cost constants were measured
 * on, so a time limit follows the hardware it runs on (a slow shared VM
 * needed 2.5 times the CPU of another for the same resize).
 *
 * Measured twice over: at start-up by timing a small reference job in a
 * worker thread (imaging/job-cost.ts MACHINE_REFERENCE), and then by every
 * job that completes (its time inside the worker against what the model
 * expected, at the contention it ran under). The larger of the start-up
 * figure and the recent jobs' average is used: limits only ever grow from
 * what honest work showed, so a format the model under-rates on this
 * machine soon gets the time it needs.
 */
import sharp from 'sharp';
import { optionsFromRules } from '../imaging/options-from-rules.js';
import { DEFAULT_RULES } from '../imaging/rules.js';
import { MACHINE_REFERENCE } from '../imaging/job-cost.js';
import type { ResizePool } from './pool.js';

/** Speeds outside this range are measurement errors (a stalled start-up), not machines. */
const MIN_SPEED = 0.25;
const MAX_SPEED = 20;

function clamp(speed: number): number {
  return Math.min(MAX_SPEED, Math.max(MIN_SPEED, speed));
}

export class MachineSpeed {
  private calibrated = 1;
  private observed: number | undefined;

  /** Weight of a new job's figure in the running average. */
  constructor(private readonly alpha = 0.1) {}

  /** 1: as fast as the reference machine; 2: half as fast. */
  current(): number {
    return Math.max(this.calibrated, this.observed ?? 0);
  }

  /** Times the reference job through `pool` (after one warm-up run); returns the speed found. */
  async calibrate(pool: ResizePool): Promise<number> {
    const { width, height, box } = MACHINE_REFERENCE;
    const reference = await referenceJpeg(width, height);
    const options = { ...optionsFromRules(DEFAULT_RULES), width: box.width, height: box.height };
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      const crowding = pool.crowding;
      const result = await pool.resize(Uint8Array.from(reference), DEFAULT_RULES, { options });
      if (!result.ok) throw new Error(`the reference job failed: ${result.error}`);
      // The first run pays for module loading and sharp's start in that thread.
      if (run > 0) best = Math.min(best, result.workMs / crowding);
    }
    this.calibrated = clamp(best / MACHINE_REFERENCE.cpuMs);
    return this.calibrated;
  }

  /** A job the model expected to take `cpuMs` took `workMs` in its thread while the CPUs were `crowding` times over. */
  observe(cpuMs: number, workMs: number, crowding: number): void {
    if (!(cpuMs > 0) || !(workMs > 0)) return;
    const speed = clamp(workMs / Math.max(1, crowding) / cpuMs);
    this.observed = this.observed === undefined ? speed : this.observed + this.alpha * (speed - this.observed);
  }
}

/** The reference input: grey noise, made by libvips (not the event loop) the same way on every machine. */
function referenceJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}
