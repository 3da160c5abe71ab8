/**
 * The memory of this process's tree, from /proc/<pid>/smaps_rollup (one
 * file per process with the sums of its mappings; Linux 4.14+).
 *
 * The tree's figure is this process's RSS (what `ps`, `top` and
 * process.memoryUsage().rss say) plus each descendant's USS (its private
 * pages). Adding the descendants' RSS would count the pages they share with
 * this process (a forked child, the same node binary) once per process; PSS
 * would split this process's shared pages with every unrelated process on
 * the machine that maps the same files, making the figure depend on what
 * else runs there. A descendant's pages shared only with outsiders are
 * missed; the backend starts no child processes today, so the tree is
 * normally this process alone and the figure its exact RSS.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Lineage } from './process-table.js';

export interface RollupMemory {
  rss: number;
  pss: number;
  /** Private_Clean + Private_Dirty: the unique set size. */
  uss: number;
}

/** The `Key: N kB` lines of smaps_rollup, in bytes; undefined when Rss is missing. */
export function parseSmapsRollup(text: string): RollupMemory | undefined {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = field('Rss');
  if (rss === undefined) return undefined;
  return { rss, pss: field('Pss') ?? rss, uss: (field('Private_Clean') ?? 0) + (field('Private_Dirty') ?? 0) };
}

/** VmRSS from /proc/<pid>/status, for kernels without smaps_rollup. */
function parseStatusRss(text: string): number | undefined {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

async function readRollup(procRoot: string, pid: number): Promise<RollupMemory | undefined> {
  try {
    return parseSmapsRollup(await readFile(path.join(procRoot, String(pid), 'smaps_rollup'), 'utf8'));
  } catch {
    try {
      const rss = parseStatusRss(await readFile(path.join(procRoot, String(pid), 'status'), 'utf8'));
      // Without the breakdown a descendant's RSS is all we know of it.
      return rss === undefined ? undefined : { rss, pss: rss, uss: rss };
    } catch {
      return undefined;
    }
  }
}

/** Bytes used by this process's tree (see above); undefined when not even this process can be read. */
export async function readTreeMemory(procRoot: string, lineage: Lineage): Promise<number | undefined> {
  const [own, ...descendants] = await Promise.all([lineage.self, ...lineage.descendants].map((pid) => readRollup(procRoot, pid)));
  if (!own) return undefined;
  return descendants.reduce((sum, m) => sum + (m?.uss ?? 0), own.rss);
}
