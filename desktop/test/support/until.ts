/**
 * Polls `probe` until it gives a value, for what no event announces (an
 * image's row as the REST API answers it); `label` names what was awaited
 * when the time runs out.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function until<T>(probe: () => Promise<T | undefined>, label: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await sleep(100);
  }
}
