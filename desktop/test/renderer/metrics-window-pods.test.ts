/**
 * The metrics window over a cluster of three pods sharing a private Redis:
 * the real backend (pod "desktop-test") and two more publishers in this
 * process, "pod-busy" and "pod-idle", each reading its own cgroup from a
 * fixture folder whose CPU counter this test advances at 80 % and 10 % of a
 * core. The window must draw their container CPU apart, show the history at
 * once, keep a stopped pod's line marked gone, keep a line hidden once its
 * legend entry is clicked, and say when the data goes stale.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMetricsHub, type MetricsHub } from '@imgfleet/backend/metrics';
import type { Page } from 'playwright-core';
import { AppHarness } from '../support/app-harness.js';
import { lineOf } from './metrics-test-support.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

// A period of a second: three pods then send three snapshots a second, each
// delivered to the page by one CDP round trip (the harness's IPC), which a
// loaded two-core machine still keeps up with.
const PERIOD_SECONDS = 1;
const CPU_CHART = 'figure[data-metric="container-cpu"]';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A redis-server of the test's own, so no other test's pods appear in this window. */
async function startRedis(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  for (let i = 0; i < 100 && !/Ready to accept connections/i.test(out); i++) await sleep(50);
  assert.match(out, /Ready to accept connections/i, 'redis-server started');
  return { url: `redis://127.0.0.1:${port}`, child };
}

/**
 * A cgroup v2 fixture whose CPU counter grows at `cores` of a core (limit: one core), advanced by a timer.
 * It holds this test's process alone, so the publisher takes it for its own (container-source: cgroup).
 */
async function fixtureCgroup(root: string, cores: number): Promise<{ stop(): void }> {
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, 'cgroup.procs'), `${process.pid}\n`);
  await writeFile(path.join(root, 'cgroup.controllers'), 'cpu memory\n');
  await writeFile(path.join(root, 'cpu.max'), '100000 100000\n');
  await writeFile(path.join(root, 'memory.current'), `${Math.round(cores * 500) * 1024 * 1024}\n`);
  await writeFile(path.join(root, 'memory.max'), `${1024 * 1024 * 1024}\n`);
  const start = Date.now();
  // Written aside and renamed (synchronously, so two writes never overlap), as the kernel's files never show half a value.
  const write = () => {
    writeFileSync(path.join(root, 'cpu.stat.new'), `usage_usec ${Math.round((Date.now() - start) * 1000 * cores)}\n`);
    renameSync(path.join(root, 'cpu.stat.new'), path.join(root, 'cpu.stat'));
  };
  write();
  const timer = setInterval(write, 50);
  return { stop: () => clearInterval(timer) };
}

const legendButton = (pod: string) => `${CPU_CHART} button[data-series="${pod}"]`;

describe('metrics window with several pods', () => {
  let work: string;
  let redis: { url: string; child: ChildProcess };
  let backend: TestBackend;
  let harness: AppHarness;
  let metrics: Page;
  const hubs = new Map<string, MetricsHub>();
  const cgroups: { stop(): void }[] = [];

  before(async () => {
    work = await tempDir('metrics-pods');
    redis = await startRedis(work);
    backend = await startTestBackend({ METRICS_PERIOD: String(PERIOD_SECONDS), REDIS_URL: redis.url });
    for (const [pod, cores] of [
      ['pod-busy', 0.8],
      ['pod-idle', 0.1],
    ] as const) {
      const cgroupRoot = path.join(work, pod);
      cgroups.push(await fixtureCgroup(cgroupRoot, cores));
      const hub = createMetricsHub({
        podName: pod,
        redisUrl: redis.url,
        periodSeconds: PERIOD_SECONDS,
        cgroupRoot,
        nodeName: 'node-test',
        appStats: () => ({ activeThreads: 0, totalThreads: 2, queueSize: 0, processedCount: 0, failedCount: 0, avgProcessTimeSeconds: 0 }),
      });
      hub.start();
      hubs.set(pod, hub);
    }
    // Let the pods publish for a while before the window opens: it must show that past at once. Real time on
    // purpose: the legend test counts the pixels of lines drawn from what these seconds publish (waiting for
    // seven snapshots instead made it fail 2 runs in 10 under load).
    await sleep(7000);
    harness = await AppHarness.start({ settings: { backendUrl: backend.url } });
  });

  after(async () => {
    await harness?.close();
    await Promise.all([...hubs.values()].map((hub) => hub.stop()));
    for (const c of cgroups) c.stop();
    await backend?.stop();
    redis?.child.kill('SIGKILL');
    await removeDir(work);
  });

  it("draws the history at once, and two pods' container CPU as two different lines", async () => {
    const main = await harness.openMainWindow();
    await main.click('#open-metrics');
    for (let i = 0; i < 100 && harness.metricsPages.length === 0; i++) await main.waitForTimeout(50);
    metrics = harness.metricsPages[0]!;
    await metrics.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 20_000 });
    await metrics.waitForSelector(legendButton('pod-idle'), { timeout: 20_000 });
    // Seven seconds at a snapshot a second were published before the window opened; the stream alone would have brought one or two.
    const points = Number(await metrics.getAttribute(legendButton('pod-busy'), 'data-points'));
    assert.ok(points >= 5, `pod-busy has ${points} points as soon as the window is ready`);
    await metrics.waitForFunction(() => (document.getElementById('pods')?.textContent ?? '').includes('3 pods: desktop-test, pod-busy, pod-idle'), undefined, {
      timeout: 20_000,
    });

    const busyColour = (await metrics.getAttribute(legendButton('pod-busy'), 'data-colour'))!;
    const idleColour = (await metrics.getAttribute(legendButton('pod-idle'), 'data-colour'))!;
    assert.notEqual(busyColour, idleColour);
    // The window draws at most twice a second: give the canvas a few frames to show both lines whole.
    let busy = await lineOf(metrics, CPU_CHART, busyColour);
    let idle = await lineOf(metrics, CPU_CHART, idleColour);
    for (let i = 0; i < 20 && !(busy.n > 20 && idle.n > 20); i++) {
      await metrics.waitForTimeout(250);
      busy = await lineOf(metrics, CPU_CHART, busyColour);
      idle = await lineOf(metrics, CPU_CHART, idleColour);
    }
    assert.ok(busy.n > 20 && idle.n > 20, `both lines drawn (${busy.n}, ${idle.n} pixels)`);
    // The y axis grows upwards: 80 % is drawn well above 10 %.
    assert.ok(busy.meanRow + 30 < idle.meanRow, `busy at row ${busy.meanRow.toFixed(0)}, idle at ${idle.meanRow.toFixed(0)}`);
    // The host figures are charted per node: the two extra pods share "node-test".
    const memory = 'figure[data-metric="derived:percentage_memory_caching"]';
    await metrics.waitForSelector(`${memory} button[data-series="node-test"]`, { timeout: 20_000 });
    assert.equal(await metrics.$$eval(`${memory} button[data-series="pod-busy"]`, (els) => els.length), 0);
    const unit = await metrics.textContent(`${CPU_CHART} figcaption .unit`);
    assert.equal(unit, '(%)');
    await harness.screenshot(metrics, 'metrics-window-pods');
  });

  it('a legend click hides a line until clicked again', async () => {
    const busyColour = (await metrics.getAttribute(legendButton('pod-busy'), 'data-colour'))!;
    await metrics.click(legendButton('pod-busy'));
    assert.equal(await metrics.getAttribute(legendButton('pod-busy'), 'aria-pressed'), 'false');
    // Several redraws (one a second, and on every snapshot) later it is still hidden.
    await metrics.waitForTimeout(2500);
    assert.equal(await metrics.getAttribute(legendButton('pod-busy'), 'aria-pressed'), 'false');
    assert.equal((await lineOf(metrics, CPU_CHART, busyColour)).n, 0, 'the hidden line stays hidden');
    // The other lines, the axes and the unit stay.
    assert.ok((await lineOf(metrics, CPU_CHART, (await metrics.getAttribute(legendButton('pod-idle'), 'data-colour'))!)).n > 20);
    await metrics.click(legendButton('pod-busy'));
    assert.equal(await metrics.getAttribute(legendButton('pod-busy'), 'aria-pressed'), 'true');
    await metrics.waitForTimeout(300);
    assert.ok((await lineOf(metrics, CPU_CHART, busyColour)).n > 20, 'shown again');
  });

  it("keeps a stopped pod's line, marked gone, and every span draws at once", async () => {
    const idleColour = (await metrics.getAttribute(legendButton('pod-idle'), 'data-colour'))!;
    await hubs.get('pod-idle')!.stop();
    await metrics.waitForSelector(`${legendButton('pod-idle')}[data-gone]`, { timeout: 20_000 });
    assert.match((await metrics.textContent(legendButton('pod-idle'))) ?? '', /pod-idle \(gone\)/);
    assert.match((await metrics.textContent('#pods')) ?? '', /2 pods: desktop-test, pod-busy · source redis · every 1 s · gone: pod-idle/);
    await metrics.waitForTimeout(1200);
    assert.ok((await lineOf(metrics, CPU_CHART, idleColour)).n > 0, 'its line is still drawn');
    for (const span of ['1', '15', '60', '5']) {
      await metrics.selectOption('#span', span);
      assert.ok(Number(await metrics.getAttribute(legendButton('pod-busy'), 'data-points')) >= 5, `span ${span} min`);
    }
    await harness.screenshot(metrics, 'metrics-window-gone');
  });

  it('says when the data is stale', async () => {
    assert.equal(await metrics.evaluate(() => document.body.dataset.stale), 'false');
    assert.equal(await metrics.isVisible('#stale-metrics'), false);
    await Promise.all([hubs.get('pod-busy')!.stop(), backend.backend.metrics.stop()]);
    await metrics.waitForFunction(() => document.body.dataset.stale === 'true', undefined, { timeout: 20_000 });
    assert.ok(await metrics.isVisible('#stale-metrics'));
    assert.match((await metrics.textContent('#stale-metrics')) ?? '', /Data is stale: no new snapshot; the last one arrived \d+ s ago/);
    assert.deepEqual(harness.pageErrors, []);
  });
});
