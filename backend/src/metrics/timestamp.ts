/**
 * The agent's timestamp: Python's str(datetime) in UTC, `YYYY-MM-DD HH:MM:SS.ffffff`.
 * Always six fraction digits (Python omits them when microseconds are 0; a
 * fixed width is easier on every parser, and the default handler accepts both).
 */
import { performance } from 'node:perf_hooks';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Epoch milliseconds (fractional: microseconds in the fraction) in the agent's format. */
export function formatAgentTimestamp(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const date = new Date(wholeMs);
  const micros = date.getUTCMilliseconds() * 1000 + Math.min(999, Math.floor((epochMs - wholeMs) * 1000));
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(micros, 6)}`
  );
}

/**
 * Now, in the agent's format. A Date has only milliseconds; timeOrigin + now()
 * has microseconds but drifts from the wall clock when NTP adjusts it. So the
 * precise value is used while it agrees with Date.now() within a millisecond,
 * and the wall clock wins otherwise.
 */
export function agentTimestampNow(): string {
  const wall = Date.now();
  const precise = performance.timeOrigin + performance.now();
  return formatAgentTimestamp(Math.abs(precise - wall) < 1 ? precise : wall);
}
