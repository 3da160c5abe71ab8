/**
 * Whether this pod can take uploads right now, for /readyz: the database
 * answers, the blob store can be written to (each asked at most every so
 * often, never waiting long), and no upload has been kept waiting for a slot
 * longer than the bound.
 */
import type { Semaphore } from './util/semaphore.js';

export interface Probe {
  /** What is unavailable when it fails, e.g. "database unreachable". */
  name: string;
  check: () => Promise<void>;
  /** Answers are reused this long (a blob-store check writes a file). */
  everyMs: number;
}

/** A probe's answer, reused for `everyMs` and asked once at a time; undefined when it passes, else why not. */
function cachedProbe(probe: Probe, timeoutMs: number): () => Promise<string | undefined> {
  let last: { at: number; error: string | undefined } | undefined;
  let inFlight: Promise<string | undefined> | undefined;
  const ask = async (): Promise<string | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe.check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return undefined;
    } catch (err) {
      return `${probe.name}: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    if (last && Date.now() - last.at < probe.everyMs) return Promise.resolve(last.error);
    inFlight ??= ask().then((error) => {
      last = { at: Date.now(), error };
      inFlight = undefined;
      return error;
    });
    return inFlight;
  };
}

export function createReadiness(options: {
  probes: Probe[];
  slots: { name: string; semaphore: Semaphore }[];
  maxSlotWaitMs: number;
  probeTimeoutMs?: number;
}): () => Promise<string | undefined> {
  const probes = options.probes.map((p) => cachedProbe(p, options.probeTimeoutMs ?? 2000));
  return async () => {
    for (const { name, semaphore } of options.slots) {
      const waited = semaphore.oldestWaitMs();
      if (waited > options.maxSlotWaitMs) return `uploads have waited ${(waited / 1000).toFixed(1)} s for a free ${name} slot`;
    }
    for (const reason of await Promise.all(probes.map((p) => p()))) if (reason) return reason;
    return undefined;
  };
}
