/**
 * One writer of an `:error` companion key: a context's call errors, or the
 * function's own (load, ZIP, requirements) under `<REDIS_OUTPUT_KEY>:error`.
 * A failure is written as is; once things work again the record is
 * rewritten with `resolved: true, resolved_at`.
 *
 * With a single input key the function's writer and the context's share one
 * key, so a resolution is a compare-and-set: it only rewrites the record
 * this writer put there. A call that succeeds on the old version thus never
 * marks a failed reload resolved, and a good reload never hides a call error.
 */
import type { ChainableCommander } from 'ioredis';
import type { ErrorRecord } from './errors.js';
import { setKey } from './redis-connection.js';

/** KEYS[1]: the key; ARGV: the record expected there, its replacement, the expiry in seconds (0: none). */
const RESOLVE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
`;

interface Write {
  text: string;
  /** Set for a resolution: the record it replaces, if the key still holds it. */
  replaces?: string;
}

export class ErrorCompanion {
  /** The unresolved record this writer last put under the key. */
  private shown: string | undefined;
  private pending: Write | undefined;
  private inFlight: Write | undefined;

  constructor(
    /** Undefined when nothing is written (REDIS_OUTPUT_KEY unset). */
    readonly key: string | undefined,
    private readonly ttlSeconds: number,
  ) {}

  /** A new failure: written on the next flush, whatever the key holds. */
  report(record: ErrorRecord): void {
    this.pending = { text: JSON.stringify(record) };
  }

  /** Things work again: the record this writer showed is marked resolved, unless the key now holds another. */
  resolve(): void {
    // A failure not yet written need never be: it is over (the stats and the log keep it).
    if (this.pending && this.pending.replaces === undefined) this.pending = undefined;
    const base = this.base();
    if (base === undefined || this.pending?.replaces === base) return;
    const record = JSON.parse(base) as ErrorRecord;
    this.pending = { text: JSON.stringify({ ...record, resolved: true, resolved_at: new Date().toISOString() }), replaces: base };
  }

  /**
   * Takes over an unresolved record found under the key (left by an earlier run), to resolve it
   * with resolve(); only when this writer has nothing of its own to show.
   */
  adopt(text: string): void {
    if (this.shown === undefined && this.pending === undefined && this.inFlight === undefined) this.shown = text;
  }

  get hasPending(): boolean {
    return this.pending !== undefined && this.key !== undefined;
  }

  /**
   * Adds the pending write to `batch`. Call settle() with whether the batch went through.
   * One batch at a time per writer: the caller serialises its flushes.
   */
  queue(batch: ChainableCommander): void {
    const write = this.pending;
    if (!write || this.key === undefined) return;
    this.pending = undefined;
    this.inFlight = write;
    if (write.replaces === undefined) setKey(batch, this.key, write.text, this.ttlSeconds);
    else batch.eval(RESOLVE_SCRIPT, 1, this.key, write.replaces, write.text, String(this.ttlSeconds > 0 ? Math.max(1, Math.round(this.ttlSeconds)) : 0));
  }

  settle(ok: boolean): void {
    const write = this.inFlight;
    this.inFlight = undefined;
    if (!write) return;
    if (ok) {
      // After a resolution the key holds the resolved record, or (the compare failed) someone else's.
      this.shown = write.replaces === undefined ? write.text : undefined;
    } else {
      // Retried on the next flush, unless something newer is waiting.
      this.pending ??= write;
    }
  }

  /** The unresolved record of this writer the key holds, or will once the write in flight lands. */
  private base(): string | undefined {
    if (this.inFlight) return this.inFlight.replaces === undefined ? this.inFlight.text : undefined;
    return this.shown;
  }
}
