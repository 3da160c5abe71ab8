/**
 * Electron's security checklist, asserted on what ships: the BrowserWindow
 * options, the Content-Security-Policy of the built pages, the preload
 * bundle, the IPC allow-list and sender check, the menu, external links.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { appPaths, fileUrl } from '../../src/main/app-paths.js';
import { externalUrlFor } from '../../src/main/external-links.js';
import { APP_PAGES, isTrustedSenderUrl } from '../../src/main/ipc-dispatch.js';
import { buildMenuTemplate } from '../../src/main/menu.js';
import { mainWindowOptions, metricsWindowOptions } from '../../src/main/window-options.js';
import { DESKTOP_DIR, RENDERER_DIR } from '../support/paths.js';
import type { MenuItemConstructorOptions } from 'electron';

const paths = appPaths(DESKTOP_DIR);

function parseCsp(html: string): Map<string, string[]> {
  const match = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(match, 'the page has a CSP meta tag');
  return new Map(
    match[1]!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('window options', () => {
  for (const [label, options] of [
    ['main', mainWindowOptions(paths)],
    ['metrics', metricsWindowOptions(paths)],
  ] as const) {
    it(`${label} window: isolated, sandboxed, no Node, web security on`, () => {
      const prefs = options.webPreferences!;
      assert.equal(prefs.contextIsolation, true);
      assert.equal(prefs.sandbox, true);
      assert.equal(prefs.nodeIntegration, false);
      assert.equal(prefs.nodeIntegrationInWorker, false);
      assert.equal(prefs.nodeIntegrationInSubFrames, false);
      assert.equal(prefs.webSecurity, true);
      assert.equal(prefs.allowRunningInsecureContent, false);
      assert.equal(prefs.experimentalFeatures, false);
      assert.equal(prefs.webviewTag, false);
      assert.equal(prefs.navigateOnDragDrop, false);
      assert.equal(prefs.preload, path.join(DESKTOP_DIR, 'dist', 'preload', 'preload.cjs'));
      assert.equal(options.show, false, 'shown on ready-to-show');
      // No option that would weaken the above sneaks in.
      for (const risky of ['enableRemoteModule', 'allowFileAccessFromFileUrls', 'enableBlinkFeatures', 'additionalArguments']) {
        assert.equal((prefs as Record<string, unknown>)[risky], undefined, risky);
      }
    });
  }
});

describe('built pages', () => {
  it('carry a strict CSP: Electron pages may connect nowhere, web pages only to their origin', async () => {
    const expectations: Record<string, string> = {
      'desktop.html': "'none'",
      'desktop-metrics.html': "'none'",
      'index.html': "'self'",
      'metrics.html': "'self'",
    };
    for (const [page, connect] of Object.entries(expectations)) {
      const html = await fs.readFile(path.join(RENDERER_DIR, page), 'utf8');
      const csp = parseCsp(html);
      assert.deepEqual(csp.get('default-src'), ["'self'"], page);
      assert.deepEqual(csp.get('script-src'), ["'self'"], `${page}: no inline or eval'd scripts`);
      assert.deepEqual(csp.get('style-src'), ["'self'"], `${page}: no inline styles`);
      assert.deepEqual(csp.get('img-src'), ["'self'", 'data:', 'blob:'], page);
      assert.deepEqual(csp.get('connect-src'), [connect], page);
      assert.deepEqual(csp.get('object-src'), ["'none'"], page);
      assert.deepEqual(csp.get('base-uri'), ["'none'"], page);
      assert.deepEqual(csp.get('form-action'), ["'none'"], page);
      for (const values of csp.values()) {
        assert.ok(!values.some((v) => /unsafe|\*/.test(v)), `${page}: nothing unsafe or wildcard`);
      }
      // No inline script or style, and every asset local with a hashed name.
      assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), `${page}: no inline <script>`);
      assert.ok(!/<style|\sstyle="|\son[a-z]+="/i.test(html), `${page}: no inline styles or handlers`);
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.length >= 2);
      for (const asset of assets) {
        assert.match(asset, /^[a-z]+-[A-Z0-9]{8}\.(js|css)$/, `${page}: ${asset} is a local hashed asset`);
        await fs.access(path.join(RENDERER_DIR, asset));
      }
    }
  });

  it('the preload is one CommonJS file that requires nothing but electron', async () => {
    const code = await fs.readFile(paths.preload, 'utf8');
    const required = new Set([...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]));
    assert.deepEqual([...required], ['electron']);
    assert.ok(!/\bimport\s+[\w{*]|\bexport\s+(const|function|default)/.test(code), 'no ES module syntax');
    assert.match(code, /exposeInMainWorld\(\s*"imgfleet"/);
    assert.ok(!/exposeInMainWorld\([^)]*ipcRenderer\s*\)/.test(code), 'ipcRenderer itself is never exposed');
  });
});

describe('IPC senders', () => {
  it("trusts only the app's own pages", () => {
    for (const page of APP_PAGES) assert.ok(isTrustedSenderUrl(fileUrl(path.join(RENDERER_DIR, page)), RENDERER_DIR), page);
    const refused = [
      'about:blank',
      'https://example.com/desktop.html',
      'http://127.0.0.1:8080/desktop.html',
      fileUrl(path.join(RENDERER_DIR, 'index.html')),
      fileUrl(path.join(RENDERER_DIR, '..', 'desktop.html')),
      fileUrl('/tmp/desktop.html'),
      'file://evil.example/desktop.html',
      'javascript:alert(1)',
      'not a url',
      '',
    ];
    for (const url of refused) assert.equal(isTrustedSenderUrl(url, RENDERER_DIR), false, url);
  });
});

describe('menu and external links', () => {
  const clicked: string[] = [];
  const template = buildMenuTemplate({
    command: (c) => clicked.push(c),
    openMetrics: () => clicked.push('metrics'),
    openWebUi: () => clicked.push('web'),
    isMac: false,
    devTools: false,
  });
  const items = (list: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
    list.flatMap((item) => [item, ...(Array.isArray(item.submenu) ? items(item.submenu) : [])]);

  it('shows the shortcuts the page handles without registering them twice', () => {
    const byAccelerator = new Map(
      items(template)
        .filter((i) => i.accelerator)
        .map((i) => [i.accelerator, i]),
    );
    for (const accelerator of ['CmdOrCtrl+O', 'CmdOrCtrl+U', 'CmdOrCtrl+Shift+S', 'CmdOrCtrl+Shift+O']) {
      assert.equal(byAccelerator.get(accelerator)?.registerAccelerator, false, accelerator);
    }
    const upload = items(template).find((i) => i.label === 'Upload All');
    (upload?.click as () => void)();
    assert.deepEqual(clicked, ['upload']);
    assert.ok(!items(template).some((i) => i.role === 'toggleDevTools'), 'no developer tools in a release');
  });

  it('opens only http(s) addresses in the browser', () => {
    assert.equal(externalUrlFor('http://127.0.0.1:8080'), 'http://127.0.0.1:8080/');
    assert.equal(externalUrlFor('https://cluster.example/api/v1?x=1#y'), 'https://cluster.example/');
    for (const bad of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'http://user:pw@host/', 'nonsense']) {
      assert.equal(externalUrlFor(bad), null, bad);
    }
  });
});
