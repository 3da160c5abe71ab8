/** The metrics module's public surface; the server and the HTTP routes import from here. */
export { createMetricsHub } from './hub.js';
export type {
  MetricsEvent,
  MetricsHistory,
  MetricsHub,
  MetricsHubOptions,
  MetricsHubStatus,
  MetricsListener,
  MetricsOverview,
  MetricsOverview as MetricsResponse,
  MetricsSource,
} from './hub.js';
export { HISTORY_SECONDS, historyCapacity } from './history-ring.js';
export type { HistorySample, PodHistory } from './history-ring.js';
export { createPipelineMetrics, PROCESSING_SECONDS_BUCKETS } from './prometheus.js';
export type { PipelineMetrics, PipelineMetricsOptions } from './prometheus.js';
export type { PodMetrics } from './pod-view.js';
export type { DerivedFigures } from './in-process-derived.js';
export type { AppStats, Snapshot } from './snapshot-contract.js';
export { isFloatField, parseSnapshotText, requiredSnapshotFields } from './snapshot-contract.js';
export { stringifyWithFloats } from './float-json.js';
export type { MetricsHealth } from '../contract/metrics.js';
