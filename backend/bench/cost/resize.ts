/**
 * The resize itself, without a server: the bare sharp loop (the yardstick
 * of issue 14) and the ResizePool at a given thread count.
 */
import os from 'node:os';
import { DEFAULT_RULES, optionsFromRules, resizeImage } from '../../src/imaging/index.js';
import { ResizePool } from '../../src/workers/pool.js';
import { cpuDuring, selfCpuSeconds } from './cpu.js';

const DEFAULT_OPTIONS = optionsFromRules(DEFAULT_RULES);

export const CORES = os.availableParallelism();

export interface ResizeCost {
  /** Photos per second. */
  rate: number;
  /** CPU seconds per photo, all threads of this process. */
  cpuPerPhoto: number;
}

/** resizeImage in this thread, one pipeline per core, over `count` photos cycling through `files`. */
export async function bareSharp(files: Buffer[], count: number): Promise<ResizeCost> {
  const loop = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CORES }, async () => {
        while (next < n) await resizeImage(files[next++ % files.length]!, DEFAULT_RULES);
      }),
    );
  };
  await loop(CORES); // warm-up: sharp loaded, libvips threads started
  const m = await cpuDuring({ self: selfCpuSeconds }, () => loop(count));
  return { rate: count / m.seconds, cpuPerPhoto: m.cpu.self! / count };
}

/** The same photos through a ResizePool of `threads` threads, all submitted at once. */
export async function poolResize(files: Buffer[], count: number, threads: number): Promise<ResizeCost> {
  const pool = new ResizePool(threads);
  try {
    await Promise.all(Array.from({ length: threads }, () => pool.resize(Uint8Array.from(files[0]!), DEFAULT_RULES, { options: DEFAULT_OPTIONS })));
    // Copies made outside the timing: the pool takes ownership of (transfers) what it is given.
    const copies = Array.from({ length: count }, (_, i) => Uint8Array.from(files[i % files.length]!));
    const m = await cpuDuring({ self: selfCpuSeconds }, () => Promise.all(copies.map((c) => pool.resize(c, DEFAULT_RULES, { options: DEFAULT_OPTIONS }))));
    const failed = m.result.filter((r) => !r.ok).length;
    if (failed) throw new Error(`${failed} of ${count} pool resizes failed`);
    return { rate: count / m.seconds, cpuPerPhoto: m.cpu.self! / count };
  } finally {
    await pool.close();
  }
}
