/**
 * The bundled default function: derived figures from one host's metrics
 * snapshot, as the course's handler computed them.
 * - percentage_outgoing_bytes: bytes sent / (sent + received) × 100
 * - percentage_memory_caching: (cached + buffers) / total × 100
 * - moving_average_cpu_percent-N: mean of cpu_percent-N over the last 60 s
 *   of snapshots (by their own timestamps), history kept in context.env.
 * The Python twin (functions/usermodule.py) computes the same figures.
 */
import type { HandlerContext } from './context.js';

export const MOVING_AVERAGE_WINDOW_SECONDS = 60;

interface Sample {
  t: number;
  value: number;
}

/** Parses the agent's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) or an ISO string into epoch seconds. */
export function parseSnapshotTime(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return Date.now() / 1000;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/.exec(value);
  if (!m) {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? Date.now() / 1000 : parsed / 1000;
  }
  const [, y, mo, d, h, mi, s, frac = '0'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return ms / 1000 + Number(`0.${frac}`);
}

function num(input: Record<string, unknown>, key: string): number | undefined {
  const v = input[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function handler(input: Record<string, unknown>, context: HandlerContext): Record<string, number> | null {
  // The input is whatever JSON the monitoring wrote to Redis, not always an object.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the type is the contract, this is the check
  if (!input || typeof input !== 'object') return null;
  const out: Record<string, number> = {};

  const sent = num(input, 'net_io_counters_eth0-bytes_sent');
  const recv = num(input, 'net_io_counters_eth0-bytes_recv');
  if (sent !== undefined && recv !== undefined) {
    out.percentage_outgoing_bytes = sent + recv > 0 ? (sent / (sent + recv)) * 100 : 0;
  }

  const total = num(input, 'virtual_memory-total');
  const cached = num(input, 'virtual_memory-cached');
  const buffers = num(input, 'virtual_memory-buffers');
  if (total !== undefined && total > 0 && cached !== undefined && buffers !== undefined) {
    out.percentage_memory_caching = ((cached + buffers) / total) * 100;
  }

  const now = parseSnapshotTime(input.timestamp);
  const history = (context.env.cpu_history ??= {}) as Record<string, Sample[]>;
  for (const [key, value] of Object.entries(input)) {
    const m = /^cpu_percent-(\d+)$/.exec(key);
    if (!m || typeof value !== 'number') continue;
    const samples = (history[m[1]!] ??= []);
    samples.push({ t: now, value });
    // Keep exactly the snapshots of the last 60 s, this one included.
    while (samples.length > 0 && samples[0]!.t <= now - MOVING_AVERAGE_WINDOW_SECONDS) samples.shift();
    out[`moving_average_cpu_percent-${m[1]}`] = samples.reduce((a, s) => a + s.value, 0) / samples.length;
  }
  return Object.keys(out).length > 0 ? out : null;
}
