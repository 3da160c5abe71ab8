/**
 * The concurrency gate lives in the shared client policy (the browser
 * adapter bounds its uploads with the same one). A cancellable wait is
 * node:timers/promises' setTimeout(ms, undefined, { signal }).
 */
export { createLimiter, mapLimit, type Limiter } from '../../shared/api-policy/index.js';
