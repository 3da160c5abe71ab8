/**
 * Browser-side safety: a page on another site must not use the backend the
 * person's browser can reach (DNS rebinding, cross-site form posts), while
 * curl, the desktop's main process and probes by IP keep working.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';
import { multipartBody, rawRequest } from '../support/raw-request.js';

async function rowCount(t: TestBackend): Promise<number> {
  const c = new pg.Client({ connectionString: t.db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM processed_images');
    return Number(rows[0]!.n);
  } finally {
    await c.end();
  }
}

describe('browser guard, default setup (no token)', () => {
  let t: TestBackend;
  let port: number;
  before(async () => {
    t = await startTestBackend();
    port = t.backend.port;
  });
  after(async () => {
    await t.close();
  });

  it('refuses a Host that is not one of its names (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `attacker.localhost.evil.example:${port}`]) {
      const res = await rawRequest(`${t.url}/api/v1/stats`, { headers: { host } });
      assert.equal(res.status, 403, host);
      assert.deepEqual(Object.keys(res.json<object>()).sort(), ['code', 'error']);
      assert.equal(res.json<{ code: string }>().code, 'HOST_NOT_ALLOWED');
    }
    // Nor the figures of the earlier dashboard, nor an image's bytes.
    assert.equal((await rawRequest(`${t.url}/dashboard`, { headers: { host: 'evil.example' } })).status, 403);
    assert.equal((await rawRequest(`${t.url}/download/1`, { headers: { host: 'evil.example' } })).status, 403);
  });

  it('answers its own names, and any IP address (a rebinding attack always carries a DNS name)', async () => {
    const machine = os.hostname();
    for (const host of [
      `localhost:${port}`,
      'localhost',
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      '10.244.0.17:8080',
      'LOCALHOST',
      `${machine}:${port}`,
      `${machine}.local`,
      'app.localhost',
    ]) {
      const res = await rawRequest(`${t.url}/api/v1/stats`, { headers: { host } });
      assert.equal(res.status, 200, host);
    }
  });

  it('keeps the health checks open to any Host (probes)', async () => {
    assert.equal((await rawRequest(`${t.url}/healthz`, { headers: { host: 'whatever.example' } })).status, 200);
    assert.equal((await rawRequest(`${t.url}/readyz`, { headers: { host: 'whatever.example' } })).status, 200);
  });

  it('refuses a cross-site upload and stores nothing', async () => {
    const before = await rowCount(t);
    const image = await makeImage({ width: 320, height: 240 });
    const cases: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${port + 1}` },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of cases) {
      for (const route of ['/api/v1/images', '/upload']) {
        const { body, contentType } = multipartBody('a.jpg', image);
        const res = await rawRequest(`${t.url}${route}`, { method: 'POST', body, headers: { 'content-type': contentType, ...headers } });
        assert.equal(res.status, 403, `${route} ${JSON.stringify(headers)}`);
        assert.equal(res.json<{ code: string }>().code, 'CROSS_SITE_REQUEST');
      }
    }
    assert.equal(await rowCount(t), before, 'no row was stored by a refused request');
  });

  it('refuses cross-site DELETE and retry, and keeps the image', async () => {
    const res = await upload(t.url, [{ name: 'keep.jpg', data: await makeImage({ width: 300, height: 200 }) }]);
    const { images } = (await res.json()) as UploadResponse;
    const id = images[0]!.id;
    const del = await rawRequest(`${t.url}/api/v1/images/${id}`, { method: 'DELETE', headers: { origin: 'https://evil.example' } });
    assert.equal(del.status, 403);
    const retry = await rawRequest(`${t.url}/api/v1/images/${id}/retry`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(retry.status, 403);
    assert.equal((await getJson(`${t.url}/api/v1/images/${id}`)).status, 200);
  });

  it('takes uploads from its own page (same Origin) and from clients that send none (curl, the desktop main process)', async () => {
    const image = await makeImage({ width: 320, height: 240 });
    const same = multipartBody('same.jpg', image);
    const fromPage = await rawRequest(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: same.body,
      headers: { 'content-type': same.contentType, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(fromPage.status, 202, fromPage.body);
    const viaLocalhost = multipartBody('lh.jpg', image);
    const fromLocalhostPage = await rawRequest(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: viaLocalhost.body,
      headers: { 'content-type': viaLocalhost.contentType, host: `localhost:${port}`, origin: `http://localhost:${port}` },
    });
    assert.equal(fromLocalhostPage.status, 202, fromLocalhostPage.body);
    const plain = multipartBody('curl.jpg', image);
    const fromCurl = await rawRequest(`${t.url}/api/v1/images`, { method: 'POST', body: plain.body, headers: { 'content-type': plain.contentType } });
    assert.equal(fromCurl.status, 202, fromCurl.body);
    // A cross-site *read* is the browser's business (same-origin policy); navigation still works.
    assert.equal((await rawRequest(`${t.url}/api/v1/stats`, { headers: { 'sec-fetch-site': 'cross-site' } })).status, 200);
  });
});

describe('browser guard, host names from the configuration', () => {
  it('adds ALLOWED_HOSTS to the defaults, and `*` turns the Host check off', async () => {
    const t = await startTestBackend({ ALLOWED_HOSTS: 'imgfleet.example.org, .lan.example' });
    try {
      const ok = async (host: string) => (await rawRequest(`${t.url}/api/v1/stats`, { headers: { host } })).status;
      assert.equal(await ok('imgfleet.example.org'), 200);
      assert.equal(await ok('IMGFLEET.example.org:8080'), 200);
      assert.equal(await ok('box.lan.example'), 200);
      assert.equal(await ok('lan.example'), 200);
      assert.equal(await ok('localhost'), 200);
      assert.equal(await ok('other.example.org'), 403);
      assert.equal(await ok('evil-lan.example'), 403);
    } finally {
      await t.close();
    }
    const open = await startTestBackend({ ALLOWED_HOSTS: '*' });
    try {
      assert.equal((await rawRequest(`${open.url}/api/v1/stats`, { headers: { host: 'anything.example' } })).status, 200);
    } finally {
      await open.close();
    }
  });

  it('on all interfaces (a pod) answers its own host name and the Services Kubernetes announces', async () => {
    const t = await startTestBackend({
      HOST: '0.0.0.0',
      POD_NAME: 'image-processor-7d9c6b5f4-x2x9q',
      POD_NAMESPACE: 'imgfleet',
      IMAGE_PROCESSOR_SERVICE_HOST: '10.96.12.34',
      IMAGE_PROCESSOR_SERVICE_PORT: '80',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
    });
    try {
      const status = async (host: string) => (await rawRequest(`${t.url}/api/v1/stats`, { headers: { host } })).status;
      for (const host of [
        os.hostname(),
        'image-processor-7d9c6b5f4-x2x9q',
        'image-processor',
        'image-processor:80',
        'image-processor.imgfleet',
        'image-processor.imgfleet.svc',
        'image-processor.imgfleet.svc.cluster.local',
        '10.96.12.34',
        '192.168.49.2:30080',
      ]) {
        assert.equal(await status(host), 200, host);
      }
      assert.equal(await status('image-processor.evil.example'), 403);
      assert.equal(await status('evil.example'), 403);
    } finally {
      await t.close();
    }
  });
});

describe('browser guard with API_TOKEN', () => {
  const TOKEN = 'guard-token-for-tests';
  let t: TestBackend;
  let webRoot: string;
  before(async () => {
    // A web root without the dashboard page: /dashboard must not fall back to the figures.
    webRoot = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-web-'));
    await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>imgfleet</title>');
    t = await startTestBackend({ API_TOKEN: TOKEN, WEB_ROOT: webRoot });
  });
  after(async () => {
    await t.close();
    await rm(webRoot, { recursive: true, force: true });
  });

  it('/dashboard never returns the figures without the token, whatever the Accept header', async () => {
    for (const accept of ['text/html', 'text/html,application/xhtml+xml,*/*;q=0.8', 'application/json', '*/*']) {
      const res = await fetch(`${t.url}/dashboard`, { headers: { accept } });
      const text = await res.text();
      assert.notEqual(res.status, 200, `${accept}: ${text}`);
      assert.doesNotMatch(text, /"total"|"recent"/, accept);
    }
    const withToken = await fetch(`${t.url}/dashboard`, { headers: { accept: 'application/json', authorization: `Bearer ${TOKEN}` } });
    assert.equal(withToken.status, 200);
  });

  it('takes ?access_token= only where a header cannot be sent (event streams, download links, the status page)', async () => {
    const res = await upload(t.url, [{ name: 'a.jpg', data: await makeImage({ width: 300, height: 200 }) }], { token: TOKEN });
    const { images, batchId } = (await res.json()) as UploadResponse;
    const id = images[0]!.id;
    await waitFor(async () => (await getJson<{ status: string }>(`${t.url}/api/v1/images/${id}`, TOKEN)).body.status === 'completed');
    const q = `access_token=${TOKEN}`;
    for (const route of [
      `/api/v1/images/${id}/processed?download&${q}`,
      `/api/v1/images/${id}/original?${q}`,
      `/download/${id}?${q}`,
      `/api/v1/batches/${batchId}/zip?${q}`,
      `/status/${id}?${q}`,
    ]) {
      const r = await fetch(`${t.url}${route}`, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 200, route);
      await r.body?.cancel();
    }
    const events = await fetch(`${t.url}/api/v1/events?${q}`, { headers: { accept: 'text/event-stream' } });
    assert.equal(events.status, 200);
    await events.body?.cancel();
    for (const route of ['/api/v1/stats', '/api/v1/images', `/api/v1/images/${id}`, `/status/${id}/json`, '/dashboard', '/api/v1/metrics', '/metrics']) {
      const r = await fetch(`${t.url}${route}${route.includes('?') ? '&' : '?'}${q}`, { headers: { accept: 'application/json' } });
      assert.equal(r.status, 401, route);
      assert.equal(((await r.json()) as { code: string }).code, 'UNAUTHORIZED');
    }
    // A state change never takes the token from the URL (a link or a form could carry it).
    const del = await fetch(`${t.url}/api/v1/images/${id}?${q}`, { method: 'DELETE' });
    assert.equal(del.status, 401);
    const form = new FormData();
    form.append('images', new Blob([await makeImage({ width: 100, height: 100 })], { type: 'image/jpeg' }), 'b.jpg');
    assert.equal((await fetch(`${t.url}/api/v1/images?${q}`, { method: 'POST', body: form })).status, 401);
    assert.equal((await getJson(`${t.url}/api/v1/images/${id}`, TOKEN)).status, 200);
  });
});
