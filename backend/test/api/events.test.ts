/** GET /api/v1/events: status changes reach clients live, from whichever process made them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deletedEventSchema, type StatusEvent, type UploadResponse } from '../../src/contract/api.js';
import { openEventStream, startTestBackend, upload, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

describe('status events (SSE)', () => {
  let a: TestBackend;
  let b: TestBackend;
  before(async () => {
    a = await startTestBackend({ POD_NAME: 'pod-a' });
    // A second process on the same database, like a second pod.
    b = await startTestBackend({ POD_NAME: 'pod-b', WORKER_THREADS: '1' }, a.db);
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('pushes pending → processing → completed for an upload, to clients of every pod', async () => {
    const onA = await openEventStream(`${a.url}/api/v1/events`);
    const onB = await openEventStream(`${b.url}/api/v1/events`);
    try {
      await onA.next((e) => e.event === 'hello');
      await onB.next((e) => e.event === 'hello');
      const res = await upload(a.url, [{ name: 'live.jpg', data: await makeImage({ width: 1600, height: 1200 }) }]);
      const { images, batchId } = (await res.json()) as UploadResponse;
      const id = images[0]!.id;
      for (const stream of [onA, onB]) {
        const done = await stream.next(
          (e) => e.event === 'status' && (JSON.parse(e.data) as StatusEvent).id === id && (JSON.parse(e.data) as StatusEvent).status === 'completed',
        );
        const event = JSON.parse(done.data) as StatusEvent;
        assert.equal(event.batchId, batchId);
        assert.equal(event.filename, 'live.jpg');
        assert.deepEqual([event.width, event.height], [800, 600]);
        assert.ok(event.workerId?.startsWith('pod-'));
        assert.ok(!Number.isNaN(Date.parse(event.at)));
        const statuses = stream.events
          .filter((e) => e.event === 'status')
          .map((e) => JSON.parse(e.data) as StatusEvent)
          .filter((e) => e.id === id)
          .map((e) => e.status);
        // `pending` only if it had to wait: a free thread on the uploading pod takes it at once.
        assert.ok(['pending,processing,completed', 'processing,completed'].includes(statuses.join(',')), `unexpected status sequence ${statuses.join(' → ')}`);
      }
    } finally {
      onA.close();
      onB.close();
    }
  });

  it('filters by batch when asked', async () => {
    const first = (await (await upload(a.url, [{ name: 'one.jpg', data: await makeImage({ width: 400, height: 300 }) }])).json()) as UploadResponse;
    const stream = await openEventStream(`${b.url}/api/v1/events?batchId=${first.batchId}`);
    try {
      await stream.next((e) => e.event === 'hello');
      await upload(a.url, [{ name: 'other-batch.jpg', data: await makeImage({ width: 400, height: 300, seed: 5 }) }]);
      await upload(a.url, [{ name: 'same-batch.jpg', data: await makeImage({ width: 400, height: 300, seed: 6 }) }], { batchId: first.batchId });
      await stream.next(
        (e) =>
          e.event === 'status' &&
          (JSON.parse(e.data) as StatusEvent).filename === 'same-batch.jpg' &&
          (JSON.parse(e.data) as StatusEvent).status === 'completed',
      );
      const names = new Set(stream.events.filter((e) => e.event === 'status').map((e) => (JSON.parse(e.data) as StatusEvent).filename));
      assert.ok(!names.has('other-batch.jpg'));
    } finally {
      stream.close();
    }
  });

  it('tells clients of every pod which images were deleted, whatever batch they watch', async () => {
    const { batchId, images } = (await (
      await upload(a.url, [{ name: 'doomed.jpg', data: await makeImage({ width: 400, height: 300, seed: 8 }) }])
    ).json()) as UploadResponse;
    const id = images[0]!.id;
    await waitFor(async () => ((await (await fetch(`${a.url}/api/v1/images/${id}`)).json()) as { status: string }).status === 'completed');
    const watching = await openEventStream(`${b.url}/api/v1/events?batchId=${batchId}`);
    try {
      await watching.next((e) => e.event === 'hello');
      assert.equal((await fetch(`${a.url}/api/v1/batches/${batchId}`, { method: 'DELETE' })).status, 200);
      const deleted = deletedEventSchema.parse(JSON.parse((await watching.next((e) => e.event === 'deleted')).data));
      assert.equal(deleted.id, id);
      assert.ok(Date.parse(deleted.at) > 0);
    } finally {
      watching.close();
    }
  });
});
