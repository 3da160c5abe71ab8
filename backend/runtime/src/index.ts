/** The function runtime's programmatic API (the `imgfleet-runtime` bin is main.ts). */
export { startRuntime } from './runtime.js';
export type { RuntimeHandle, RuntimeStatus } from './runtime.js';
export { loadRuntimeConfig, resolveRuntimeConfig, runtimeEnvSchema, RuntimeConfigError, DEFAULTS } from './config.js';
export { BRIDGE_PATH } from './python-driver.js';
export type { RuntimeConfig, RuntimeOptions } from './config.js';
export type { ErrorKind, ErrorRecord } from './errors.js';
export type { StatsRecord } from './stats.js';
export type { HandlerContext, RuntimeContext, Handler } from './context.js';
export { HEALTH_PATHS } from './health-server.js';
