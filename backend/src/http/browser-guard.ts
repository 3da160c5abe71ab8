/**
 * What a web page on another site could make a person's browser do to this
 * backend, refused:
 *
 * - DNS rebinding: evil.example re-resolves to 127.0.0.1 (or a LAN or pod
 *   address), and its scripts then read this API as "same origin". Their
 *   requests carry `Host: evil.example`, so a Host that is none of this
 *   server's names is refused. Any IP literal is accepted: a rebinding page
 *   is always reached through a DNS name, so `Host: 10.244.0.17:8080` (a
 *   kubelet probe, a NodePort, `minikube service --url`) is never one.
 * - Cross-site requests that change state (a form post, a `fetch` with
 *   `mode: 'no-cors'`): refused when `Origin` names another origin, or
 *   `Sec-Fetch-Site` says the request did not come from this origin.
 *   Clients that send neither (curl, the desktop app's main process) are
 *   not browsers acting for another site, and pass.
 *
 * Reads across sites are the browser's business (the same-origin policy
 * keeps their answers from the other page); the health checks are open to
 * any Host, as probes need.
 */
import { isIP } from 'node:net';
import os from 'node:os';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors.js';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const OPEN_PATHS = new Set(['/healthz', '/readyz']);
const WILDCARD_BINDS = new Set(['', '0.0.0.0', '::', '[::]']);

export interface HostRules {
  /** False: any Host passes (ALLOWED_HOSTS=*). */
  check: boolean;
  exact: Set<string>;
  /** `.example.org`: the domain and every name under it. */
  suffixes: string[];
}

export interface HostSources {
  HOST: string;
  API_TOKEN?: string | undefined;
  ALLOWED_HOSTS?: string | undefined;
  POD_NAME?: string | undefined;
  POD_NAMESPACE?: string | undefined;
}

/**
 * The Service names Kubernetes announces to a pod as `<NAME>_SERVICE_HOST`
 * (`IMAGE_PROCESSOR_SERVICE_HOST` → `image-processor`), with the DNS forms
 * a client in the cluster may use.
 */
export function kubernetesServiceNames(source: NodeJS.ProcessEnv, namespace: string | undefined): string[] {
  const names: string[] = [];
  for (const key of Object.keys(source)) {
    const m = /^([A-Z0-9_]+)_SERVICE_HOST$/.exec(key);
    if (!m || m[1] === 'KUBERNETES') continue;
    const service = m[1]!.toLowerCase().replace(/_/g, '-');
    names.push(service);
    // `.svc` and `.svc.cluster.local` are no public domain: nobody outside the cluster can own them.
    if (namespace) names.push(`${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`);
  }
  return names;
}

/**
 * The names this server answers to: loopback names, the HOST it binds, this
 * machine's (and pod's) own names, the Services in front of it when it
 * listens on every interface, and ALLOWED_HOSTS.
 *
 * With API_TOKEN set and no ALLOWED_HOSTS, Host is not checked: a rebinding
 * page has no token (it lives in the real origin's storage), and a
 * deployment behind its own domain keeps working as it did.
 */
export function hostRules(settings: HostSources, source: NodeJS.ProcessEnv = {}): HostRules {
  const extra = (settings.ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  // The machine's name, and its mDNS form on a LAN (`nas` as `nas.local`).
  const machine = os.hostname().toLowerCase();
  const exact = new Set<string>(['localhost', machine, `${machine}.local`]);
  const suffixes = ['.localhost'];
  const bind = settings.HOST.trim().toLowerCase();
  if (!WILDCARD_BINDS.has(bind)) exact.add(bind.replace(/^\[|\]$/g, ''));
  if (settings.POD_NAME) exact.add(settings.POD_NAME.toLowerCase());
  if (WILDCARD_BINDS.has(bind)) {
    for (const name of kubernetesServiceNames(source, settings.POD_NAMESPACE)) exact.add(name);
  }
  for (const entry of extra) {
    if (entry.startsWith('.')) suffixes.push(entry);
    else exact.add(entry);
  }
  const check = !extra.includes('*') && (!settings.API_TOKEN || extra.length > 0);
  return { check, exact, suffixes };
}

/** `Host` without its port, lower case, IPv6 brackets removed. */
export function hostName(hostHeader: string): string {
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined);
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

export function hostAllowed(rules: HostRules, hostHeader: string | undefined): boolean {
  // HTTP/1.0 without Host is no browser.
  if (!rules.check || hostHeader === undefined) return true;
  const name = hostName(hostHeader).replace(/\.$/, '');
  if (isIP(name) !== 0) return true;
  if (rules.exact.has(name)) return true;
  return rules.suffixes.some((s) => name.endsWith(s) || name === s.slice(1));
}

/** `host:port` as an origin would write it (default ports dropped). */
function authority(host: string, scheme: string): string {
  const lower = host.trim().toLowerCase();
  const defaultPort = scheme === 'https:' ? ':443' : ':80';
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}

/** Why a state-changing request is cross-site, or null when it is not. */
export function crossSiteReason(req: Pick<Request, 'method' | 'get'>): string | null {
  if (!UNSAFE_METHODS.has(req.method)) return null;
  const site = req.get('sec-fetch-site')?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}`;
  const origin = req.get('origin');
  if (origin === undefined) return null;
  if (origin === 'null') return 'Origin is null (a sandboxed or local page)';
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return `Origin ${JSON.stringify(origin)} is not this server`;
  }
  // Behind a proxy the Host the browser used may arrive as X-Forwarded-Host.
  const hosts = [req.get('host'), req.get('x-forwarded-host')?.split(',')[0]].filter((h): h is string => Boolean(h));
  const own = hosts.map((h) => authority(h, parsed.protocol));
  return own.includes(authority(parsed.host, parsed.protocol)) ? null : `Origin ${parsed.origin} is not this server`;
}

export function browserGuard(rules: HostRules): RequestHandler {
  return (req, _res, next) => {
    if (OPEN_PATHS.has(req.path)) {
      next();
      return;
    }
    const host = req.get('host');
    if (!hostAllowed(rules, host)) {
      next(
        new HttpError(
          403,
          'HOST_NOT_ALLOWED',
          `this server does not answer to the host name ${JSON.stringify(host)}; add it to ALLOWED_HOSTS if it is really this server's`,
        ),
      );
      return;
    }
    const reason = crossSiteReason(req);
    if (reason) {
      next(
        new HttpError(
          403,
          'CROSS_SITE_REQUEST',
          `${req.method} ${req.path} refused: ${reason}, and requests that change data must come from this server's own page`,
        ),
      );
      return;
    }
    next();
  };
}
