/** The metrics module's public surface; the server imports from here. */
export { createMetricsHub } from './hub.js';
export type { MetricsEvent, MetricsHub, MetricsHubOptions, MetricsHubStatus, MetricsListener, MetricsSource } from './hub.js';
export { metricsRouter } from './router.js';
export type { MetricsResponse, MetricsRouterOptions } from './router.js';
export { createPipelineMetrics, PROCESSING_SECONDS_BUCKETS } from './prometheus.js';
export type { PipelineMetrics, PipelineMetricsOptions } from './prometheus.js';
export type { PodMetrics } from './pod-view.js';
export type { DerivedFigures } from './in-process-derived.js';
export type { AppStats, Snapshot } from './snapshot-contract.js';
export { isFloatField, parseSnapshotText, requiredSnapshotFields } from './snapshot-contract.js';
export { stringifyWithFloats } from './float-json.js';
