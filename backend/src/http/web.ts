/**
 * Serves the built web UI (the desktop renderer, browser flavour) at `/`.
 * Hashed assets are cached for a year; HTML is revalidated every time, and
 * carries a strict Content-Security-Policy.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `<repo>/desktop/dist/renderer`, found from this compiled file (backend/dist/src/http/web.js). */
export function defaultWebRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../desktop/dist/renderer');
}

const HASHED = /-[A-Za-z0-9_-]{8,}\.(js|css|map|png|svg|woff2?|txt)$/;

/**
 * The URL paths of the files in the web root (and `/`). They hold no data, so
 * with API_TOKEN set they stay reachable: the page itself asks for the token.
 */
export function webAssetPaths(root: string): Set<string> {
  const paths = new Set<string>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else paths.add(`${prefix}${name}`);
    }
  };
  if (existsSync(root)) walk(root, '/');
  if (paths.has('/index.html')) paths.add('/');
  return paths;
}

/** A browser navigating (HTML first), rather than an API client. */
export function wantsHtml(req: import('express').Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

/** Sends one of the built pages (e.g. the dashboard for a browser asking /dashboard). */
export function sendPage(root: string, page: string, res: import('express').Response): void {
  res.setHeader('Content-Security-Policy', WEB_CSP);
  res.setHeader('Cache-Control', 'no-cache');
  res.sendFile(path.join(root, page));
}

export function webRouter(root: string): Router {
  const r = Router();
  const available = existsSync(path.join(root, 'index.html'));
  r.use(
    express.static(root, {
      index: 'index.html',
      setHeaders(res, file) {
        if (HASHED.test(file)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        else res.setHeader('Cache-Control', 'no-cache');
        if (file.endsWith('.html')) res.setHeader('Content-Security-Policy', WEB_CSP);
      },
    }),
  );
  if (!available) {
    r.get('/', (_req, res) => {
      res.status(503).type('text/plain').send(`The web UI is not built (${root} has no index.html). Run \`npm run build\` at the repository root.`);
    });
  }
  return r;
}
