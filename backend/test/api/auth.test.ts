/** Optional API_TOKEN: every route but the health checks needs the bearer token. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LegacyStatus, UploadResponse } from '../../src/contract/api.js';
import { getJson, openEventStream, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

const TOKEN = 's3cret-token-for-tests';

describe('auth on', () => {
  let t: TestBackend;
  let webRoot: string;
  before(async () => {
    webRoot = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-web-'));
    await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>imgfleet</title>');
    await writeFile(path.join(webRoot, 'app-ABCD1234.js'), 'console.log(1)');
    await writeFile(path.join(webRoot, 'metrics.html'), '<!doctype html><title>dashboard</title>');
    t = await startTestBackend({ API_TOKEN: TOKEN, WEB_ROOT: webRoot });
  });
  after(async () => {
    await t.close();
    await rm(webRoot, { recursive: true, force: true });
  });

  it('serves the web UI files without the token (they hold no data; the page asks for it)', async () => {
    assert.equal((await fetch(`${t.url}/`)).status, 200);
    assert.equal((await fetch(`${t.url}/app-ABCD1234.js`)).status, 200);
    assert.equal((await fetch(`${t.url}/other.js`)).status, 401);
    // The dashboard page (it reads its figures from the API itself), not the figures.
    assert.equal((await fetch(`${t.url}/dashboard`, { headers: { accept: 'text/html' } })).status, 200);
    assert.equal((await fetch(`${t.url}/dashboard`, { headers: { accept: 'application/json' } })).status, 401);
  });

  it("keeps the token on the status page's download link", async () => {
    const res = await upload(t.url, [{ name: 'a.jpg', data: await makeImage({ width: 300, height: 200 }) }], { token: TOKEN });
    const { images } = (await res.json()) as UploadResponse;
    const id = images[0]!.id;
    await waitFor(async () => (await getJson<LegacyStatus>(`${t.url}/status/${id}/json`, TOKEN)).body.status === 'completed');
    const page = await fetch(`${t.url}/status/${id}?access_token=${TOKEN}`, { headers: { accept: 'text/html' } });
    const link = /href="(\/download\/\d+[^"]*)"/.exec(await page.text())?.[1];
    assert.equal(link, `/download/${id}?access_token=${TOKEN}`);
    assert.equal((await fetch(`${t.url}${link}`)).status, 200);
  });

  it('refuses requests without the token or with a wrong one', async () => {
    for (const path of ['/api/v1/stats', '/api/v1/images', '/dashboard', '/status/1/json', '/download/1', '/metrics', '/api/v1/metrics', '/api/v1/events']) {
      const none = await fetch(t.url + path);
      assert.equal(none.status, 401, path);
      assert.equal(((await none.json()) as { code: string }).code, 'UNAUTHORIZED');
      const wrong = await fetch(t.url + path, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401, path);
      await wrong.body?.cancel();
    }
    const res = await upload(t.url, [{ name: 'a.jpg', data: await makeImage({ width: 300, height: 200 }) }]);
    assert.equal(res.status, 401);
  });

  it('accepts the token as a bearer header, and as ?access_token= on event streams', async () => {
    const ok = await fetch(`${t.url}/api/v1/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    const res = await upload(t.url, [{ name: 'a.jpg', data: await makeImage({ width: 300, height: 200 }) }], { token: TOKEN });
    assert.equal(res.status, 202);
    const stream = await openEventStream(`${t.url}/api/v1/events?access_token=${TOKEN}`);
    await stream.next((e) => e.event === 'hello');
    stream.close();
  });

  it('keeps the health checks open', async () => {
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${t.url}/readyz`)).status, 200);
  });
});

describe('auth off', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend();
  });
  after(async () => {
    await t.close();
  });

  it('serves everything without a token', async () => {
    assert.equal((await fetch(`${t.url}/api/v1/stats`)).status, 200);
    assert.equal((await fetch(`${t.url}/dashboard`)).status, 200);
    const res = await upload(t.url, [{ name: 'a.jpg', data: await makeImage({ width: 300, height: 200 }) }]);
    assert.equal(res.status, 202);
  });
});
