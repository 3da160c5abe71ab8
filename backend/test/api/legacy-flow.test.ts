/** The earlier web system's API, end to end: upload → status → download a valid JPEG of the right size. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { LegacyStatus, Stats, UploadResponse } from '../../src/contract/api.js';
import { getJson, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

describe('earlier API (POST /upload, /status/:id/json, /download/:id, /dashboard)', () => {
  let t: TestBackend;
  let webRoot: string;
  before(async () => {
    // A stand-in web UI build, so this test does not depend on the desktop workspace's.
    webRoot = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-web-'));
    await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>imgfleet</title>');
    await writeFile(path.join(webRoot, 'metrics.html'), '<!doctype html><title>imgfleet dashboard</title>');
    t = await startTestBackend({ WEB_ROOT: webRoot });
  });
  after(async () => {
    await t.close();
    await rm(webRoot, { recursive: true, force: true });
  });

  it('uploads several images under field "images" and downloads each resized', async () => {
    const files = [
      { name: 'landscape.jpg', data: await makeImage({ width: 4000, height: 3000 }), size: [800, 600] },
      { name: 'portrait.jpg', data: await makeImage({ width: 1500, height: 2000 }), size: [450, 600] },
      { name: 'small.jpg', data: await makeImage({ width: 600, height: 400 }), size: [600, 400] },
      { name: 'alpha.png', data: await makeImage({ width: 1000, height: 500, format: 'png', alpha: true }), size: [800, 400] },
    ];
    const res = await upload(t.url, files, { path: '/upload' });
    assert.equal(res.status, 202);
    const body = (await res.json()) as UploadResponse;
    assert.equal(typeof body.message, 'string');
    assert.equal(body.images.length, 4);
    for (const [i, img] of body.images.entries()) {
      assert.equal(img.filename, files[i]!.name);
      assert.ok(img.status === 'pending' || img.status === 'processing', img.status);
      assert.equal(typeof img.id, 'number');
    }

    for (const [i, img] of body.images.entries()) {
      const status = await waitFor(async () => {
        const { body: s } = await getJson<LegacyStatus>(`${t.url}/status/${img.id}/json`);
        return s.status === 'completed' || s.status === 'failed' ? s : null;
      });
      assert.equal(status.status, 'completed');
      assert.ok(status.processed_at && !Number.isNaN(Date.parse(status.processed_at)));
      const dl = await fetch(`${t.url}/download/${img.id}`);
      assert.equal(dl.status, 200);
      assert.equal(dl.headers.get('content-type'), 'image/jpeg');
      assert.match(dl.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="?processed_${img.id}\\.jpg"?`));
      const jpeg = Buffer.from(await dl.arrayBuffer());
      const meta = await sharp(jpeg).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.deepEqual([meta.width, meta.height], files[i]!.size, files[i]!.name);
    }

    const { status, body: stats } = await getJson<Stats>(`${t.url}/dashboard`);
    assert.equal(status, 200);
    assert.equal(stats.completed, 4);
    assert.equal(stats.total, 4);
    assert.equal(stats.totalThreads, 4);
    assert.equal(stats.processedCount, 4);
    assert.ok(stats.avgProcessingMs! > 0);
    assert.equal(stats.recent.length, 4);
  });

  it('keeps the earlier pages for browsers: /status/:id and /dashboard as HTML', async () => {
    const res = await upload(t.url, [{ name: 'page <test>.jpg', data: await makeImage({ width: 1200, height: 900 }) }], { path: '/upload' });
    const id = ((await res.json()) as UploadResponse).images[0]!.id;
    await waitFor(async () => (await getJson<LegacyStatus>(`${t.url}/status/${id}/json`)).body.status === 'completed');
    const page = await fetch(`${t.url}/status/${id}`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    assert.match(html, /completed/);
    assert.match(html, /page &lt;test&gt;\.jpg/, 'the file name is escaped');
    assert.match(html, new RegExp(`href="/download/${id}"`));
    assert.match(html, /800 × 600/);

    const dashboardHtml = await fetch(`${t.url}/dashboard`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.match(dashboardHtml.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await dashboardHtml.text(), /imgfleet dashboard/);
    const dashboardJson = await fetch(`${t.url}/dashboard`, { headers: { accept: 'application/json' } });
    assert.equal(((await dashboardJson.json()) as Stats).completed, 5);
  });

  it('answers unknown images with JSON 404 and unfinished downloads with 409', async () => {
    const missing = await fetch(`${t.url}/status/999999/json`);
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys((await missing.json()) as object).sort(), ['code', 'error']);
    assert.equal((await fetch(`${t.url}/download/abc`)).status, 404);

    const res = await upload(t.url, [{ name: 'broken.jpg', data: Buffer.from('not a jpeg') }], { path: '/upload' });
    const { images } = (await res.json()) as UploadResponse;
    const dl = await fetch(`${t.url}/download/${images[0]!.id}`);
    assert.equal(dl.status, 409);
    const err = (await dl.json()) as { error: string; code: string };
    assert.equal(err.code, 'NOT_COMPLETED');
    assert.match(err.error, /not a JPEG/);
  });
});
