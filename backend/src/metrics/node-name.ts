/**
 * Which node a pod runs on, for the snapshot's `node` field: the host
 * figures (/proc) of every pod on one node are the node's, so the metrics
 * window charts them once per node. NODE_NAME (Kubernetes' downward API
 * `spec.nodeName`) names it; without it, the kernel's boot id does: it is not
 * namespaced, so every container on one kernel reads the same one, which is
 * exactly the set of pods whose /proc shows the same figures.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export async function readNodeName(procRoot: string, configured: string | undefined): Promise<string> {
  if (configured !== undefined && configured !== '') return configured;
  try {
    const bootId = (await readFile(path.join(procRoot, 'sys/kernel/random/boot_id'), 'utf8')).trim();
    if (/^[0-9a-f-]{8,}$/i.test(bootId)) return `node-${bootId.slice(0, 8)}`;
  } catch {
    // Not Linux: the machine's name is the node.
  }
  return os.hostname();
}
