/**
 * Watches a JavaScript handler process's memory outside V8's heap (Buffers,
 * ArrayBuffers), which no Node flag caps: its anonymous resident memory
 * (RssAnon, the pages that are its own; the program's code is shared with
 * the runtime and every other handler process) is read from /proc every
 * WATCH_INTERVAL_MS and the process is reported once it passes the limit.
 * What a handler allocates faster than that is still its own process's, and
 * that process is the one the kernel ends first (oom_score_adj).
 */
import { readFileSync } from 'node:fs';

export const WATCH_INTERVAL_MS = 50;

/** RssAnon of `pid` in bytes; undefined once the process is gone (or off Linux). */
export function residentAnonBytes(pid: number): number | undefined {
  let text: string;
  try {
    // A few hundred bytes from procfs: reading it in place costs less than a trip through the thread pool.
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^RssAnon:\s+(\d+) kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Calls `onExceeded` once when `pid`'s anonymous resident memory passes `limitBytes`. Returns a stop function. */
export function watchMemory(pid: number, limitBytes: number, onExceeded: (bytes: number) => void): () => void {
  const timer = setInterval(() => {
    const bytes = residentAnonBytes(pid);
    if (bytes === undefined || bytes <= limitBytes) return;
    clearInterval(timer);
    onExceeded(bytes);
  }, WATCH_INTERVAL_MS);
  // Never what keeps the runtime alive.
  timer.unref();
  return () => clearInterval(timer);
}
