/** The pipeline's Prometheus metrics, served as text on GET /metrics. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPipelineMetrics } from '../../src/metrics/index.js';
import { serve } from './helpers.js';

describe('pipeline Prometheus metrics', () => {
  it('serves counters, histogram, gauges and the default process metrics as text', async () => {
    const metrics = createPipelineMetrics();
    metrics.recordUpload(1000, true);
    metrics.recordUpload(50, false);
    metrics.recordCompleted(0.2);
    metrics.recordCompleted(0.4);
    metrics.recordFailed('CORRUPT_IMAGE');
    metrics.setThreads(3, 4);
    metrics.setQueueSize(7);
    const server = await serve((app) => app.get('/metrics', metrics.handler));
    try {
      const res = await fetch(`${server.baseUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      for (const line of [
        'imgfleet_uploads_total{result="accepted"} 1',
        'imgfleet_uploads_total{result="rejected"} 1',
        'imgfleet_upload_bytes_total{result="accepted"} 1000',
        'imgfleet_images_completed_total 2',
        'imgfleet_images_failed_total{code="CORRUPT_IMAGE"} 1',
        'imgfleet_processing_seconds_bucket{le="0.25"} 1',
        'imgfleet_processing_seconds_bucket{le="30"} 2',
        'imgfleet_processing_seconds_count 2',
        'imgfleet_worker_threads_busy 3',
        'imgfleet_worker_threads 4',
        'imgfleet_queue_size 7',
      ]) {
        assert.ok(text.includes(`\n${line}\n`), `missing: ${line}`);
      }
      assert.match(text, /^# TYPE imgfleet_processing_seconds histogram$/m);
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    } finally {
      await server.close();
    }
  });

  it('gives each instance its own registry, so two backends in one process do not clash', async () => {
    const a = createPipelineMetrics({ defaultLabels: { pod: 'a' } });
    const b = createPipelineMetrics({ defaultLabels: { pod: 'b' } });
    a.recordCompleted(1);
    assert.match(await a.registry.metrics(), /imgfleet_images_completed_total\{pod="a"\} 1/);
    assert.match(await b.registry.metrics(), /imgfleet_images_completed_total\{pod="b"\} 0/);
  });

  it('keeps failure codes to a bounded set of label values', async () => {
    const m = createPipelineMetrics({ defaultMetrics: false });
    m.recordFailed('Error: ENOENT /tmp/x.jpg');
    m.recordFailed('WORKER_CRASHED');
    const text = await m.registry.metrics();
    assert.match(text, /imgfleet_images_failed_total\{code="OTHER"\} 1/);
    assert.match(text, /imgfleet_images_failed_total\{code="WORKER_CRASHED"\} 1/);
  });

  it('reports the figures the metrics hub asks for', () => {
    const m = createPipelineMetrics({ defaultMetrics: false });
    m.recordCompleted(0.5);
    m.recordCompleted(1.5);
    m.recordFailed('CORRUPT_IMAGE');
    m.setThreads(2, 4);
    m.setQueueSize(3);
    const { appStats } = m;
    assert.deepEqual(appStats(), {
      activeThreads: 2,
      totalThreads: 4,
      queueSize: 3,
      processedCount: 2,
      failedCount: 1,
      avgProcessTimeSeconds: 1,
    });
  });
});
