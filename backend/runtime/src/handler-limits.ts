/**
 * HANDLER_MEMORY_MB: how much memory each handler process may use. Every
 * context's handler runs in a process of its own (python/bridge.py, or
 * js-child.ts), so a handler that allocates without end is stopped there,
 * reported, and replaced, and never grows the runtime itself:
 *
 * - Python: the bridge sets RLIMIT_AS to the limit before it loads the
 *   user's module. An allocation past it raises MemoryError in the handler,
 *   reported as kind `memory`; the process goes on with its env, unless the
 *   env itself still fills most of the limit, when it is restarted.
 * - JavaScript: V8's heap is capped (--max-old-space-size, from the limit
 *   below) so a growing heap ends the process at once; memory outside the
 *   heap (Buffers, ArrayBuffers) is watched from here (memory-watch.ts) and
 *   the process is killed when its resident memory passes the limit. Either
 *   way the context gets a new process, and its env is lost.
 * - Both ask the kernel to pick them first should the pod's memory run out
 *   all the same (oom_score_adj 1000), so it is never the runtime that dies.
 */

/** How the limit is named in messages, so the reader knows which setting to change. */
export function memoryLimitText(memoryMb: number): string {
  return `memory limit of ${memoryMb} MiB (HANDLER_MEMORY_MB)`;
}

/**
 * Node flags that cap V8's heap inside a limit of `memoryMb` (0: no flags).
 * The young generation is kept small and the old one gets what the process
 * does not need for itself (its code and Node's own pages, about 16 MiB).
 */
export function nodeMemoryFlags(memoryMb: number): string[] {
  if (memoryMb <= 0) return [];
  const semiSpaceMb = Math.max(1, Math.floor(memoryMb / 32));
  const oldSpaceMb = Math.max(16, memoryMb - 3 * semiSpaceMb - 16);
  return [`--max-old-space-size=${oldSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`];
}
