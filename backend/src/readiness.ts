/**
 * Whether this pod can take uploads right now, for /readyz: the database
 * answers (asked at most once a second, never waiting long), and no upload
 * has been kept waiting for a slot longer than the bound.
 */
import type { Semaphore } from './util/semaphore.js';

export function createReadiness(options: {
  ping: () => Promise<void>;
  slots: { name: string; semaphore: Semaphore }[];
  maxSlotWaitMs: number;
  pingTimeoutMs?: number;
}): () => Promise<string | undefined> {
  const { pingTimeoutMs = 2000 } = options;
  let last: { at: number; error: string | undefined } | undefined;
  let inFlight: Promise<string | undefined> | undefined;

  const askDatabase = async (): Promise<string | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${pingTimeoutMs} ms`)), pingTimeoutMs);
        }),
      ]);
      return undefined;
    } catch (err) {
      return `database unreachable: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      clearTimeout(timer);
    }
  };

  const database = async (): Promise<string | undefined> => {
    if (last && Date.now() - last.at < 1000) return last.error;
    inFlight ??= askDatabase().then((error) => {
      last = { at: Date.now(), error };
      inFlight = undefined;
      return error;
    });
    return inFlight;
  };

  return async () => {
    for (const { name, semaphore } of options.slots) {
      const waited = semaphore.oldestWaitMs();
      if (waited > options.maxSlotWaitMs) return `uploads have waited ${(waited / 1000).toFixed(1)} s for a free ${name} slot`;
    }
    return database();
  };
}
