/**
 * Whether the interface the network counters come from is the pod's own.
 *
 * /proc/net/dev shows the network namespace of the process: in a pod, the
 * pod's; with hostNetwork, or several backends on one machine, the node's,
 * shared by everyone. Two tests, both needed:
 * - the interface is one end of a pair (veth, or a macvlan/ipvlan child)
 *   whose other end lives outside the namespace, which the kernel says by an
 *   `iflink` (the peer's index) that differs from its own `ifindex`; a node's
 *   physical or bridge interface has both equal;
 * - no process outside this process's lineage shares its network namespace:
 *   a machine that is itself a container (a CI job, a VM-like sandbox) has a
 *   veth too, and every backend started in it shares that one.
 * Processes whose namespace cannot be read (another user's) are not counted
 * as sharing: without privileges only one's own are visible, and a pod's
 * processes are its own.
 */
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { isRelative, type Lineage, type ProcessTable } from './process-table.js';

async function readIndex(file: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

async function netNamespace(procRoot: string, pid: number): Promise<string | undefined> {
  try {
    return await readlink(path.join(procRoot, String(pid), 'ns/net'));
  } catch {
    return undefined;
  }
}

/** Whether a process outside `lineage` lives in the same network namespace as this one. */
export async function sharesNetworkNamespace(procRoot: string, table: ProcessTable, lineage: Lineage): Promise<boolean> {
  const own = await netNamespace(procRoot, lineage.self);
  if (own === undefined) return false;
  for (const pid of table.keys()) {
    if (isRelative(lineage, pid)) continue;
    if ((await netNamespace(procRoot, pid)) === own) return true;
  }
  return false;
}

export class PodNetworkReader {
  private readonly paired = new Map<string, boolean>();

  /** `sysRoot` is where sysfs is mounted (/sys); tests use a fixture. */
  constructor(private readonly sysRoot: string) {}

  /** Whether `name` is one end of a pair; decided once per interface, its kind does not change while it exists. */
  async isPairedInterface(name: string | undefined): Promise<boolean> {
    if (name === undefined) return false;
    const cached = this.paired.get(name);
    if (cached !== undefined) return cached;
    const dir = path.join(this.sysRoot, 'class/net', name);
    const [index, link] = await Promise.all([readIndex(path.join(dir, 'ifindex')), readIndex(path.join(dir, 'iflink'))]);
    const paired = index !== undefined && link !== undefined && index !== link;
    this.paired.set(name, paired);
    return paired;
  }
}
