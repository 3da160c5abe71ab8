/**
 * The shape of one per-pod metrics snapshot, with the field names of the
 * course's psutil-based monitoring agent, so handlers written for that agent
 * (and the function runtime's Python twin) read ours unchanged.
 *
 * The contract is also about JSON *types*: Python's json.loads turns `12` into
 * an int and `12.0` into a float, and handlers do arithmetic that can differ
 * between the two. So each field is declared integer or float here, and the
 * serializer (float-json.ts) writes float fields with a decimal point.
 */

import { containerSourceSchema, networkSourceSchema, type Snapshot } from '../contract/metrics.js';

/**
 * A snapshot as it travels (contract/metrics.ts): string fields `timestamp`,
 * `pod`, `node` and the two sources below, numbers for the rest.
 */
export type { Snapshot };

/** What the image pipeline reports about itself; the hub asks for it once per period. */
export interface AppStats {
  activeThreads: number;
  totalThreads: number;
  queueSize: number;
  processedCount: number;
  failedCount: number;
  avgProcessTimeSeconds: number;
}

export const VIRTUAL_MEMORY_FIELDS = ['total', 'available', 'percent', 'used', 'free', 'buffers', 'cached', 'shared', 'active', 'inactive'] as const;

/** The key names keep `eth0` whatever the interface is: handlers look for exactly these. */
export const NET_FIELDS = ['bytes_sent', 'bytes_recv', 'packets_sent', 'packets_recv'] as const;

export const APP_INT_FIELDS = ['app-active_threads', 'app-total_threads', 'app-queue_size', 'app-processed_count', 'app-failed_count'] as const;

export const APP_FLOAT_FIELDS = ['app-avg_process_time', 'app-throughput'] as const;

/**
 * The pod's own figures (inside a pod /proc shows the node): CPU in % of its
 * limit and in % of one core, the limit in cores, memory used and its limit
 * in bytes. `container-source` says where they come from: `cgroup` (the pod's
 * own group) or `process` (its own process tree, where it has no group of its
 * own; see container-figures.ts).
 */
export const CONTAINER_FLOAT_FIELDS = ['container-cpu_percent', 'container-cpu_percent_of_core', 'container-cpu_limit'] as const;
export const CONTAINER_INT_FIELDS = ['container-memory_used', 'container-memory_limit'] as const;
/** `interface` when the counters under CONTAINER_NET_PREFIX are the pod's own (see container-network.ts), else `none`. */
export const CONTAINER_TEXT_FIELDS = ['container-source', 'container-network_source'] as const;
/** Present only when the network interface is the pod's own. */
export const CONTAINER_NET_PREFIX = 'container-net_io_counters-';

/** The text fields besides timestamp, pod and node, with the values each may take. */
const TEXT_FIELD_VALUES: Record<(typeof CONTAINER_TEXT_FIELDS)[number], readonly string[]> = {
  'container-source': containerSourceSchema.options,
  'container-network_source': networkSourceSchema.options,
};

const FLOAT_FIELD_NAMES = new Set<string>([
  'cpu_freq_current',
  'virtual_memory-percent',
  ...APP_FLOAT_FIELDS,
  ...CONTAINER_FLOAT_FIELDS,
  // Derived figures (runtime output / in-process handler) are percentages and means.
  'percentage_outgoing_bytes',
  'percentage_memory_caching',
]);

/**
 * Whether a field is float-typed in the contract. Per-core figures carry the
 * core index in their name, hence the prefix checks.
 */
export function isFloatField(name: string): boolean {
  return FLOAT_FIELD_NAMES.has(name) || name.startsWith('cpu_percent-') || name.startsWith('moving_average_cpu_percent-');
}

/**
 * Every key a snapshot from a machine with `coreCount` cores must have;
 * `podNetwork`: whether its interface is the pod's own (then the container's
 * network counters are there too).
 */
export function requiredSnapshotFields(coreCount: number, { podNetwork = false } = {}): string[] {
  const fields = ['timestamp', 'pod', 'node', 'cpu_freq_current', 'n_pids'];
  for (let i = 0; i < coreCount; i++) fields.push(`cpu_percent-${i}`);
  for (const f of VIRTUAL_MEMORY_FIELDS) fields.push(`virtual_memory-${f}`);
  for (const f of NET_FIELDS) fields.push(`net_io_counters_eth0-${f}`);
  fields.push(...APP_INT_FIELDS, ...APP_FLOAT_FIELDS, ...CONTAINER_FLOAT_FIELDS, ...CONTAINER_INT_FIELDS, ...CONTAINER_TEXT_FIELDS);
  if (podNetwork) for (const f of NET_FIELDS) fields.push(`${CONTAINER_NET_PREFIX}${f}`);
  return fields;
}

/**
 * Validates a snapshot that came from Redis (another pod, or anything else
 * someone wrote under the prefix). Returns null for anything that is not a
 * snapshot (a pod's goodbye among them: it has no timestamp), so a stray key
 * never breaks the view. Numbers are kept, and text only where the contract
 * has text.
 */
export function parseSnapshotText(text: string, fallbackPod?: string): Snapshot | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.timestamp !== 'string') return null;
  const pod = typeof record.pod === 'string' && record.pod !== '' ? record.pod : fallbackPod;
  if (pod === undefined) return null;
  const out: Snapshot = { timestamp: record.timestamp, pod };
  if (typeof record.node === 'string' && record.node !== '') out.node = record.node;
  for (const [key, v] of Object.entries(record)) {
    if (key === 'timestamp' || key === 'pod' || key === 'node') continue;
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (typeof v === 'string' && (TEXT_FIELD_VALUES as Record<string, readonly string[] | undefined>)[key]?.includes(v)) out[key] = v;
  }
  return out;
}
