/**
 * Network counters of the pod's main interface from /proc/net/dev (which, in a
 * container, shows the pod's own network namespace).
 *
 * Which interface is "main": the agent's field names say eth0, and in a
 * Kubernetes pod that is the pod's interface. Where there is no eth0 (a
 * developer machine with enp3s0 or wlan0, some CNIs), the interface carrying
 * the IPv4 default route is the one traffic to the cluster leaves by; failing
 * that (no IPv4 default route), the non-loopback interface that has moved the
 * most bytes. The field names keep `eth0` whatever the choice, because
 * handlers look for exactly those names.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface NetCounters {
  bytes_sent: number;
  bytes_recv: number;
  packets_sent: number;
  packets_recv: number;
}

export const ZERO_NET_COUNTERS: NetCounters = { bytes_sent: 0, bytes_recv: 0, packets_sent: 0, packets_recv: 0 };

/** Per-interface counters from /proc/net/dev (receive columns first, then transmit). */
export function parseNetDev(text: string): Map<string, NetCounters> {
  const out = new Map<string, NetCounters>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    // The two header lines contain '|' and no counters.
    if (name === '' || name.includes('|')) continue;
    const v = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (v.length < 10 || v.some((x) => !Number.isFinite(x))) continue;
    out.set(name, { bytes_recv: v[0]!, packets_recv: v[1]!, bytes_sent: v[8]!, packets_sent: v[9]! });
  }
  return out;
}

/** The interface of the IPv4 default route with the lowest metric in /proc/net/route, if any. */
export function parseDefaultRouteInterface(text: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const [iface, destination, , flags, , , metric, mask] = cols;
    const up = (Number.parseInt(flags!, 16) & 0x1) !== 0;
    if (!up || destination !== '00000000' || mask !== '00000000') continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface: iface!, metric: m };
  }
  return best?.iface;
}

/** eth0, else the default route's interface, else the busiest non-loopback one. */
export function chooseMainInterface(counters: ReadonlyMap<string, NetCounters>, defaultRouteInterface: string | undefined): string | undefined {
  if (counters.has('eth0')) return 'eth0';
  if (defaultRouteInterface !== undefined && counters.has(defaultRouteInterface)) return defaultRouteInterface;
  let best: { name: string; bytes: number } | undefined;
  for (const [name, c] of counters) {
    if (name === 'lo') continue;
    const bytes = c.bytes_sent + c.bytes_recv;
    if (!best || bytes > best.bytes) best = { name, bytes };
  }
  return best?.name;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Reads the counters of the main interface. The choice is made once and kept
 * while that interface exists, so the busiest-interface fallback cannot make
 * the counters jump between interfaces from one snapshot to the next.
 */
export class MainInterfaceReader {
  private chosen: string | undefined;

  constructor(
    private readonly procRoot: string,
    /** Forces an interface (e.g. from configuration); otherwise the rule above decides. */
    private readonly forced?: string,
  ) {}

  /** The interface the counters come from, once known. */
  get interfaceName(): string | undefined {
    return this.forced ?? this.chosen;
  }

  async read(): Promise<NetCounters> {
    const devText = await readOptional(path.join(this.procRoot, 'net/dev'));
    if (devText === undefined) return ZERO_NET_COUNTERS;
    const counters = parseNetDev(devText);
    if (this.forced !== undefined) return counters.get(this.forced) ?? ZERO_NET_COUNTERS;
    if (this.chosen === undefined || !counters.has(this.chosen)) {
      const routeText = await readOptional(path.join(this.procRoot, 'net/route'));
      this.chosen = chooseMainInterface(counters, routeText === undefined ? undefined : parseDefaultRouteInterface(routeText));
    }
    return (this.chosen !== undefined ? counters.get(this.chosen) : undefined) ?? ZERO_NET_COUNTERS;
  }
}
