/**
 * The real metrics window, opened from the main window through IPC, charting
 * the real backend's live metrics stream; then the "no metrics" and
 * "unreachable" states, reached by stopping the backend's publisher and then
 * the backend itself.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { ApiClient } from '../../src/main/services/api-client.js';
import { Uploader } from '../../src/main/services/uploader.js';
import { AppHarness } from '../support/app-harness.js';
import { writePhotos } from '../support/fixtures.js';
import { pixelsOfColour } from '../support/page-helpers.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

// The first pod's colour in charts.ts's palette.
const FIRST_POD_RGB: [number, number, number] = [0x4e, 0x79, 0xa7];

describe('metrics window with the real backend', () => {
  let backend: TestBackend;
  let harness: AppHarness;
  let work: string;
  let metrics: Page;
  let backendStopped = false;

  before(async () => {
    work = await tempDir('metrics-window');
    backend = await startTestBackend({ METRICS_PERIOD: '0.5' });
    // A few processed images, so the statistics and recent images have something to show.
    const files = await writePhotos(
      work,
      [1, 2, 3].map((i) => ({ name: `m${i}.jpg`, width: 1600, height: 1200, seed: i })),
    );
    const client = new ApiClient({ baseUrl: backend.url });
    const batchId = crypto.randomUUID();
    // The backend runs in this process: its dispatcher says when each image is stored as done.
    const completed = new Set<number>();
    const allCompleted = new Promise<void>((resolve) => {
      backend.backend.dispatcher.onOutcome((outcome) => {
        if (outcome.status === 'completed') completed.add(outcome.id);
        if (completed.size === 3) resolve();
      });
    });
    const uploaded = await new Uploader({ client: () => client, concurrency: 1 }).upload(
      batchId,
      files.map((file) => ({ key: file, path: file })),
    );
    assert.equal(uploaded.accepted, 3);
    await allCompleted;

    harness = await AppHarness.start({ settings: { backendUrl: backend.url } });
  });

  after(async () => {
    await harness?.close();
    if (!backendStopped) await backend?.stop();
    await removeDir(work);
  });

  it('opens from the main window and charts every figure per pod, live', async () => {
    const main = await harness.openMainWindow();
    await main.click('#open-metrics');
    for (let i = 0; i < 100 && harness.metricsPages.length === 0; i++) await main.waitForTimeout(50);
    metrics = harness.metricsPages[0]!;
    assert.ok(metrics, 'the metrics window opened through window:open-metrics');
    await metrics.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 20_000 });
    assert.match((await metrics.textContent('#pods')) ?? '', /1 pod: desktop-test · source in-process · every 0\.5 s/);

    // Every chart gets a line for the pod once a few samples have arrived (the CPU average needs derived figures):
    // the application's, and what the bundled function computes (its first core's line, and the node's percentages).
    const charts = [
      'derived:moving_average_cpu_percent-{i}',
      'derived:percentage_memory_caching',
      'derived:percentage_outgoing_bytes',
      'queue',
      'threads',
      'throughput',
    ];
    for (const id of charts) {
      const selector = `figure[data-metric="${id}"] canvas`;
      let pixels = 0;
      for (let i = 0; i < 100 && pixels < 20; i++) {
        pixels = await pixelsOfColour(metrics, selector, FIRST_POD_RGB);
        if (pixels < 20) await metrics.waitForTimeout(100);
      }
      assert.ok(pixels >= 20, `${id} chart drew the pod's line (${pixels} pixels)`);
    }
    const captions = await metrics.$$eval('figcaption', (els) => els.map((e) => e.textContent));
    assert.ok(captions.some((c) => c?.includes('(%)')) && captions.some((c) => c?.includes('(images/s)')), 'units are explicit');
  });

  it('shows the dashboard statistics and recent images', async () => {
    await metrics.waitForFunction(() => document.getElementById('stat-total')?.textContent === '3');
    assert.equal(await metrics.textContent('#stat-completed'), '3');
    assert.equal(await metrics.textContent('#stat-threads'), '0 / 2');
    assert.match((await metrics.textContent('#stat-avg')) ?? '', /\d+ ms|\d\.\d\d s/);
    const rows = await metrics.$$eval('#recent-body tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.status));
    assert.deepEqual(rows, ['completed', 'completed', 'completed']);
    await harness.screenshot(metrics, 'metrics-window-live');
  });

  it('pauses and resumes drawing, and changes the time span', async () => {
    await metrics.click('#pause');
    assert.equal(await metrics.getAttribute('#pause', 'aria-pressed'), 'true');
    assert.equal(await metrics.textContent('#pause'), 'Resume');
    await metrics.selectOption('#span', '1');
    await metrics.click('#pause');
    assert.equal(await metrics.evaluate(() => document.body.dataset.paused), 'false');
  });

  it('says "no metrics" when the publisher stops, and "unreachable" when the backend goes', async () => {
    await backend.backend.metrics.stop();
    await metrics.waitForFunction(() => document.body.dataset.metricsState === 'empty', undefined, { timeout: 20_000 });
    assert.equal(await metrics.textContent('#no-metrics-title'), 'No metrics: Redis/runtime not reachable');
    assert.ok(await metrics.isVisible('#no-metrics'));
    await harness.screenshot(metrics, 'metrics-window-no-metrics');

    backendStopped = true;
    await backend.stop();
    // The state and the title are set in one render, but under load a read can fall between them: wait for both.
    await metrics.waitForFunction(
      () => document.body.dataset.metricsState === 'offline' && document.querySelector('#no-metrics-title')?.textContent === 'Backend unreachable',
      undefined,
      { timeout: 20_000 },
    );
    assert.equal(await metrics.textContent('#no-metrics-title'), 'Backend unreachable');
    await fs.mkdir(path.dirname(await harness.screenshot(metrics, 'metrics-window-offline')), { recursive: true });
    assert.deepEqual(
      harness.pageErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)),
      [],
    );
  });
});
