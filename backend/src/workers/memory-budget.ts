/**
 * How much memory the resize jobs in flight may need at once (the sum of
 * their costs, imaging/job-cost.ts, stays under it).
 *
 * Derived from the container's memory limit when it has one, so a pod never
 * admits more work than its limit holds and is never OOM-killed with every
 * upload and image in flight: the limit minus what the process needs beside
 * the jobs (Node, V8's heap, the worker threads, uploads and downloads in
 * progress). Without a limit (a laptop, `npm start`), it budgets as a pod of
 * the deployment's own size would, so what works here works there.
 */
const MiB = 1024 * 1024;

/** The backend pod's memory limit in `k8s/` (and the budget's basis when the process has none). */
export const DEFAULT_POD_MEMORY_BYTES = 1024 * MiB;
/** What the process needs beside the jobs: measured idle at ~150 MiB with 4 threads, plus room for uploads, downloads and the heap's growth. */
export const PROCESS_RESERVE_BYTES = 320 * MiB;
/** Never less than this, whatever the limit: a smaller pod runs one small job at a time. */
const MIN_BUDGET_BYTES = 128 * MiB;
/** What libuv says when there is no limit (2^64 - 1, or 0 on some platforms). */
const NO_LIMIT = 2 ** 60;

export interface MemoryBudget {
  bytes: number;
  /** Where the figure came from, for the start-up log and the README. */
  source: 'JOB_MEMORY_MB' | 'container limit' | 'default pod limit';
  /** The memory limit the process lives under (the container's, or a 1 GiB pod's when it derived from that), when known. */
  limitBytes?: number;
}

export function memoryBudget(settingMb: number | undefined, constrained: number = process.constrainedMemory()): MemoryBudget {
  const hasLimit = constrained > 0 && constrained < NO_LIMIT;
  if (settingMb !== undefined) return { bytes: settingMb * MiB, source: 'JOB_MEMORY_MB', ...(hasLimit ? { limitBytes: constrained } : {}) };
  const limitBytes = hasLimit ? constrained : DEFAULT_POD_MEMORY_BYTES;
  return {
    bytes: Math.max(MIN_BUDGET_BYTES, limitBytes - PROCESS_RESERVE_BYTES),
    source: hasLimit ? 'container limit' : 'default pod limit',
    limitBytes,
  };
}
