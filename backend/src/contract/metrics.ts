/**
 * The metrics API's shapes (GET /api/v1/metrics and its Server-Sent Events
 * stream) as zod schemas: the one description the backend answers with and
 * the desktop reads (it imports the types from `@imgfleet/backend/contract`).
 * No Node imports: the desktop renderer bundles what it uses.
 */
import { z } from 'zod';

const isoTime = z.string().meta({ format: 'date-time' });

/**
 * Where a pod's `container-*` figures come from: its own cgroup (a container,
 * or any group holding only this process and its relatives), or its own
 * process tree (`npm start`, several backends on one machine, a container
 * without a cgroup of its own).
 */
export const containerSourceSchema = z.enum(['cgroup', 'process']);
export type ContainerSource = z.infer<typeof containerSourceSchema>;

/** Whether `container-net_io_counters-*` are there: the pod's own interface, or none of its own. */
export const networkSourceSchema = z.enum(['interface', 'none']);
export type NetworkSource = z.infer<typeof networkSourceSchema>;

/**
 * One pod's snapshot, with the course agent's field names (see the README):
 * numbers, plus the strings `timestamp`, `pod`, `node`, `container-source`
 * and `container-network_source`.
 */
export const snapshotSchema = z
  .object({ timestamp: z.string(), pod: z.string(), node: z.string().optional() })
  .catchall(z.union([z.number(), z.string()]))
  .meta({ id: 'MetricsSnapshot' });
export type Snapshot = z.infer<typeof snapshotSchema>;

/** What the function (runtime or in-process default handler) computed from a snapshot: any JSON object. */
export const derivedFiguresSchema = z.record(z.string(), z.unknown()).meta({ id: 'DerivedFigures' });
export type DerivedFigures = z.infer<typeof derivedFiguresSchema>;

/** One pod's current state: its latest snapshot and the function's figures for it. */
export const podMetricsSchema = z
  .object({
    pod: z.string(),
    snapshot: snapshotSchema,
    derived: derivedFiguresSchema.nullable().describe('null until the function has produced figures for this pod'),
    receivedAt: isoTime.describe("when the answering pod received it, by its clock (pods' clocks may differ)"),
  })
  .meta({ id: 'PodMetrics' });
export type PodMetrics = z.infer<typeof podMetricsSchema>;

export const historySampleSchema = podMetricsSchema.omit({ pod: true }).meta({ id: 'MetricsHistorySample' });
export type HistorySample = z.infer<typeof historySampleSchema>;

/** One pod's line over a span. */
export const podHistorySchema = z
  .object({
    pod: z.string(),
    node: z.string().nullable(),
    gone: z.boolean().describe('the pod has stopped publishing; its line is kept for the span'),
    lastSeenAt: isoTime,
    samples: z.array(historySampleSchema),
  })
  .meta({ id: 'PodHistory' });
export type PodHistory = z.infer<typeof podHistorySchema>;

export const metricsSourceSchema = z.enum(['redis', 'in-process']);
export type MetricsSource = z.infer<typeof metricsSourceSchema>;

/** The answering pod's link to Redis. */
export const redisHealthSchema = z.object({
  state: z.enum(['connected', 'unreachable', 'not-configured']),
  since: isoTime.nullable().describe('when the current state began (null: not configured)'),
  error: z.string().nullable().describe('why Redis is unreachable'),
});
export type RedisHealth = z.infer<typeof redisHealthSchema>;

/** A pod that stopped publishing without saying goodbye (a crash, a hung process, a partition). */
export const stalePodSchema = z.object({ pod: z.string(), node: z.string().nullable(), lastSeenAt: isoTime });
export type StalePod = z.infer<typeof stalePodSchema>;

/** The function's last failure for a pod (null: for every pod, e.g. it does not load), as the runtime reports it. */
export const functionErrorSchema = z.object({
  pod: z.string().nullable(),
  error: z.string(),
  kind: z.string().describe('exception, timeout, invalid_output, invalid_input, load, unsafe_archive, crash, requirements'),
  at: z.string().describe('when it failed, as the reporter wrote it (ISO 8601)'),
  handler: z.string().nullable(),
});
export type FunctionError = z.infer<typeof functionErrorSchema>;

export const functionHealthSchema = z.object({
  source: z.enum(['runtime', 'in-process']).describe('runtime: read from Redis (FUNCTION_OUTPUT_KEY); in-process: the bundled handler'),
  errors: z.array(functionErrorSchema).describe('unresolved failures only'),
});
export type FunctionHealth = z.infer<typeof functionHealthSchema>;

/** Whether the data behind the charts can be trusted right now, source by source. */
export const metricsHealthSchema = z
  .object({ redis: redisHealthSchema, stalePods: z.array(stalePodSchema), function: functionHealthSchema })
  .meta({ id: 'MetricsHealth' });
export type MetricsHealth = z.infer<typeof metricsHealthSchema>;

/** Every pod's line over the last `spanSeconds`, as the server saw it at `serverTime`; the stream's first event. */
export const metricsHistorySchema = z
  .object({
    spanSeconds: z.int(),
    serverTime: isoTime.describe("the answering pod's clock, so a client can place receivedAt on its own time axis"),
    pods: z.array(podHistorySchema),
  })
  .meta({ id: 'MetricsHistory' });
export type MetricsHistory = z.infer<typeof metricsHistorySchema>;

/** The body of GET /api/v1/metrics. */
export const metricsOverviewSchema = z
  .object({
    pods: z.array(podMetricsSchema).describe('every live pod, sorted by name'),
    periodSeconds: z.number(),
    source: metricsSourceSchema,
    pod: z.string().describe('the pod that answered'),
    redisConnected: z.boolean().nullable().describe('null without Redis'),
    keyPrefix: z.string().describe('METRICS_KEY_PREFIX: the installation these pods belong to'),
    spanSeconds: z.int(),
    serverTime: isoTime,
    history: z.array(podHistorySchema),
    health: metricsHealthSchema,
  })
  .meta({ id: 'MetricsOverview' });
export type MetricsOverview = z.infer<typeof metricsOverviewSchema>;

/** The `expired` event: a pod stopped (said goodbye, or its key expired). */
export const expiredEventSchema = z.object({ pod: z.string() }).meta({ id: 'MetricsExpired' });
export type ExpiredEvent = z.infer<typeof expiredEventSchema>;

/** The stream's events, each with its body: `history` first, `health` next and on every change. */
export const metricsStreamEvents = {
  history: metricsHistorySchema,
  health: metricsHealthSchema,
  snapshot: podMetricsSchema,
  derived: podMetricsSchema,
  expired: expiredEventSchema,
} as const;
export type MetricsStreamEvent = keyof typeof metricsStreamEvents;
