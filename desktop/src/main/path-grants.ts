/**
 * Which paths a window may have scanned. 'files:scan' takes paths from the
 * renderer, which is untrusted: without this, a compromised page could name
 * any folder and have the main process read the JPGs under it. A path is
 * allowed only when, for that same window, the preload reported it from a
 * real drop ('drop:paths', see preload/drop-capture.ts) or the main
 * process's own open dialog returned it. Each grant is used once and lapses
 * after a minute, so a stale drop cannot be replayed later.
 *
 * Paths match exactly once resolved: a dropped folder does not grant its
 * parent or a sibling (its contents are reached by scanning it).
 */
import path from 'node:path';
import { AppError } from './services/app-error.js';

export const GRANT_TTL_MS = 60_000;

export interface PathGrants {
  /** Allows `paths` for this sender, once, for the next GRANT_TTL_MS. */
  grant(senderId: number, paths: readonly string[]): void;
  /**
   * The resolved paths, when every one was granted to this sender and is
   * still fresh; they are used up. Otherwise throws FORBIDDEN_PATH and uses
   * up nothing.
   */
  claim(senderId: number, paths: readonly string[]): string[];
  /** Drops everything granted to a sender (its window went away). */
  forget(senderId: number): void;
}

export interface PathGrantsOptions {
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export function createPathGrants(options: PathGrantsOptions = {}): PathGrants {
  const ttlMs = options.ttlMs ?? GRANT_TTL_MS;
  const now = options.now ?? Date.now;
  // sender id → resolved path → expiry time.
  const bySender = new Map<number, Map<string, number>>();

  const fresh = (senderId: number): Map<string, number> | undefined => {
    const grants = bySender.get(senderId);
    if (!grants) return undefined;
    const t = now();
    for (const [p, expires] of grants) if (expires <= t) grants.delete(p);
    if (grants.size === 0) bySender.delete(senderId);
    return grants.size === 0 ? undefined : grants;
  };

  return {
    grant(senderId, paths) {
      let grants = bySender.get(senderId);
      if (!grants) {
        grants = new Map();
        bySender.set(senderId, grants);
      }
      const expires = now() + ttlMs;
      for (const p of paths) grants.set(path.resolve(p), expires);
    },
    claim(senderId, paths) {
      const resolved = paths.map((p) => path.resolve(p));
      const grants = fresh(senderId);
      const refused = resolved.find((p) => !grants?.has(p));
      if (refused !== undefined) {
        throw new AppError('FORBIDDEN_PATH', `${refused} was not dropped on this window or picked in its dialog in the last ${Math.round(ttlMs / 1000)} s`);
      }
      for (const p of resolved) grants?.delete(p);
      if (grants?.size === 0) bySender.delete(senderId);
      return resolved;
    },
    forget(senderId) {
      bySender.delete(senderId);
    },
  };
}
