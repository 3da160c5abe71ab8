/**
 * The metrics window charts what the function computes, whatever its key
 * names, and says when a data source fails. The real backend, the real
 * function runtime (its bin, as deployed) running a Python handler of the
 * course's kind with its own key names (`avg-util-cpu{i}-60sec`,
 * `percent-network-egress`, `percent-memory-cached`), and a private
 * redis-server that this test stops and starts again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { AppHarness } from '../support/app-harness.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';
import { lineOf, PrivateRedis } from './metrics-test-support.js';

/** The runtime's bin, from this compiled file (desktop/dist/test/renderer/). */
const RUNTIME_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../backend/runtime/dist/src/main.js');
const PER_CORE = 'derived:avg-util-cpu{i}-60sec';

const coreCount = readFileSync('/proc/stat', 'utf8')
  .split('\n')
  .filter((line) => /^cpu\d+\s/.test(line)).length;

/** A handler written for the course's agent, with key names of its own (not the bundled handler's). */
const HANDLER = `
from collections import deque

def handler(input, context):
    cores = sorted(int(k.split('-')[1]) for k in input if k.startswith('cpu_percent-'))
    windows = context.env.setdefault('cpu', {})
    out = {}
    for i in cores:
        window = windows.setdefault(i, deque(maxlen=12))
        window.append(input['cpu_percent-%d' % i])
        out['avg-util-cpu%d-60sec' % i] = sum(window) / len(window)
    sent = input['net_io_counters_eth0-bytes_sent']
    recv = input['net_io_counters_eth0-bytes_recv']
    out['percent-network-egress'] = 100.0 * sent / (sent + recv) if sent + recv else 0.0
    total = input['virtual_memory-total']
    out['percent-memory-cached'] = 100.0 * (input['virtual_memory-cached'] + input['virtual_memory-buffers']) / total
    return out
`;

const BROKEN_HANDLER = `
def handler(input, context):
    return {'x': input['virtual_memory-no_such_field']}
`;

describe('metrics window with a custom function', () => {
  let work: string;
  let handlerFile: string;
  let redis: PrivateRedis;
  let backend: TestBackend;
  let runtime: ChildProcess;
  let harness: AppHarness;
  let metrics: Page;
  let node: string | undefined;

  /** Rewrites the handler; the runtime reloads it when its modification time changes. */
  const writeHandler = async (source: string): Promise<void> => {
    await writeFile(handlerFile, source);
    const later = new Date(Date.now() + 2000);
    await utimes(handlerFile, later, later);
  };

  before(async () => {
    work = await tempDir('metrics-function');
    handlerFile = path.join(work, 'usermodule.py');
    await writeHandler(HANDLER);
    redis = await PrivateRedis.start(work);
    backend = await startTestBackend({ REDIS_URL: redis.url, METRICS_PERIOD: '1', FUNCTION_OUTPUT_KEY: 'derived' });
    runtime = spawn(process.execPath, [RUNTIME_MAIN], {
      env: {
        PATH: process.env.PATH,
        REDIS_URL: redis.url,
        REDIS_INPUT_KEY: 'metrics:*',
        REDIS_OUTPUT_KEY: 'derived',
        INTERVAL: '1',
        FUNCTION_PATH: handlerFile,
        HEALTH_PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    // The node the backend's snapshots name (derived from the kernel's boot id), once it has published:
    // checked on each event of the backend's own hub.
    const hub = backend.backend.metrics;
    const nodeOfLatest = (): string | undefined => hub.latest()[0]?.snapshot.node;
    node =
      nodeOfLatest() ??
      (await new Promise<string>((resolve) => {
        const unsubscribe = hub.subscribe(() => {
          const named = nodeOfLatest();
          if (named === undefined) return;
          unsubscribe();
          resolve(named);
        });
      }));
    harness = await AppHarness.start({ settings: { backendUrl: backend.url } });
    // Opened as the main window's button opens it (metrics-window.test.ts goes through the button).
    metrics = await harness.openMetricsWindow();
    await metrics.waitForFunction(() => document.body.dataset.metricsState === 'live', undefined, { timeout: 20_000 });
  });

  after(async () => {
    await harness?.close();
    if (runtime && runtime.exitCode === null) {
      const exited = once(runtime, 'exit');
      runtime.kill('SIGKILL');
      await exited;
    }
    await backend?.stop();
    await redis?.stop();
    await removeDir(work);
  });

  it("charts every core's moving average per node, and the percentages, under the handler's own key names", async () => {
    assert.ok(node, 'the backend names its node');
    const perCore = `figure[data-metric="${PER_CORE}"][data-node="${node}"]`;
    await metrics.waitForSelector(`${perCore} button[data-series="cpu ${coreCount - 1}"]`, { timeout: 30_000 });
    const cores = await metrics.$$eval(`${perCore} button[data-series]`, (els) => els.map((e) => (e as HTMLElement).dataset.series));
    assert.deepEqual(
      cores,
      Array.from({ length: coreCount }, (_, i) => `cpu ${i}`),
    );
    for (let i = 0; i < coreCount; i++) {
      const button = `${perCore} button[data-series="cpu ${i}"]`;
      await metrics.waitForFunction((b) => Number(document.querySelector<HTMLElement>(b)?.dataset.points) >= 2, button, { timeout: 20_000 });
    }
    // The lines are drawn (the first core's on top: the cores of an idle machine may overlap).
    const colour = (await metrics.getAttribute(`${perCore} button[data-series="cpu 0"]`, 'data-colour'))!;
    let drawn = await lineOf(metrics, perCore, colour);
    for (let tries = 0; tries < 20 && drawn.n < 10; tries++) {
      await metrics.waitForTimeout(250);
      drawn = await lineOf(metrics, perCore, colour);
    }
    assert.ok(drawn.n >= 10, `cpu 0's line is drawn (${drawn.n} pixels)`);
    for (const key of ['percent-network-egress', 'percent-memory-cached']) {
      const figure = `figure[data-metric="derived:${key}"]`;
      await metrics.waitForSelector(`${figure} button[data-series="${node}"]`, { timeout: 20_000 });
      assert.equal(await metrics.textContent(`${figure} figcaption .unit`), '(%)');
      assert.equal(await metrics.getAttribute(figure, 'data-group'), 'percent');
    }
    assert.equal(await metrics.getAttribute(perCore, 'data-group'), 'per-core');
    // The bundled handler's charts are not there: nothing computes their keys.
    assert.equal(await metrics.$$eval('figure[data-metric="derived:moving_average_cpu_percent-{i}"]', (els) => els.length), 0);
    await harness.screenshot(metrics, 'metrics-window-custom-function');
  });

  it('shows the mean of the cores, one line per node, on request', async () => {
    await metrics.check('#cpu-mean');
    const mean = `figure[data-metric="${PER_CORE}"][data-view="mean"]`;
    await metrics.waitForSelector(`${mean} button[data-series="${node}"]`, { timeout: 10_000 });
    assert.equal(await metrics.$$eval(`figure[data-metric="${PER_CORE}"][data-node]`, (els) => els.length), 0, 'the per-node charts give way');
    await metrics.uncheck('#cpu-mean');
    await metrics.waitForSelector(`figure[data-metric="${PER_CORE}"][data-node="${node}"]`, { timeout: 10_000 });
  });

  it('says when the function fails, with its error and when, and clears it once it works again', async () => {
    const notice = '[data-notice="function"]';
    assert.equal(await metrics.isVisible(notice), false);
    await writeHandler(BROKEN_HANDLER);
    await metrics.waitForSelector(notice, { state: 'visible', timeout: 30_000 });
    assert.match((await metrics.textContent(notice)) ?? '', /virtual_memory-no_such_field/);
    assert.match((await metrics.textContent(notice)) ?? '', /\d\d:\d\d:\d\d/, 'says when');
    await harness.screenshot(metrics, 'metrics-window-function-failing');
    await writeHandler(HANDLER);
    await metrics.waitForSelector(notice, { state: 'hidden', timeout: 30_000 });
  });

  it('says when Redis is unreachable, and clears the notice when it is back', async () => {
    const notice = '[data-notice="redis"]';
    assert.equal(await metrics.isVisible(notice), false);
    await redis.stop();
    await metrics.waitForSelector(notice, { state: 'visible', timeout: 20_000 });
    assert.match((await metrics.textContent(notice)) ?? '', /Redis .*unreachable/i);
    // The header no longer claims everything is fine.
    assert.doesNotMatch((await metrics.textContent('#connection')) ?? '', /^● Live$/);
    await harness.screenshot(metrics, 'metrics-window-redis-down');
    await redis.start();
    await metrics.waitForSelector(notice, { state: 'hidden', timeout: 30_000 });
    assert.deepEqual(harness.pageErrors, []);
  });
});
