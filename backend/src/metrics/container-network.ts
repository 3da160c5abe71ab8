/**
 * Whether the interface the network counters come from is the pod's own.
 *
 * /proc/net/dev shows the network namespace of the process: in a pod, the
 * pod's; with hostNetwork, or several backends on one machine, the node's,
 * shared by everyone. A pod's interface is one end of a pair (veth, or a
 * macvlan/ipvlan child) whose other end lives outside the namespace, and the
 * kernel says so: its `iflink` (the peer's index) differs from its own
 * `ifindex`. A node's physical or bridge interface has both equal. Only then
 * are the counters reported as the container's.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

async function readIndex(file: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export class PodNetworkReader {
  private readonly known = new Map<string, boolean>();

  /** `sysRoot` is where sysfs is mounted (/sys); tests use a fixture. */
  constructor(private readonly sysRoot: string) {}

  /** Decided once per interface: its kind does not change while it exists. */
  async isPodInterface(name: string | undefined): Promise<boolean> {
    if (name === undefined) return false;
    const cached = this.known.get(name);
    if (cached !== undefined) return cached;
    const dir = path.join(this.sysRoot, 'class/net', name);
    const [index, link] = await Promise.all([readIndex(path.join(dir, 'ifindex')), readIndex(path.join(dir, 'iflink'))]);
    const own = index !== undefined && link !== undefined && index !== link;
    this.known.set(name, own);
    return own;
  }
}
