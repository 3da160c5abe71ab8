/** The main window's state rules, in Node: ordering of live events, early events, re-reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchStore } from '../../src/renderer/app/batch-store.js';
import { newBatchId } from '../../src/renderer/app/batch-id.js';
import { EtaEstimator, cardWork, formatDuration } from '../../src/renderer/app/progress.js';
import { shortcutFor } from '../../src/renderer/app/shortcuts.js';
import type { ImageSummary, StatusEvent } from '../../src/shared/models.js';

const BATCH = '7b0f9c3e-2a51-4c1e-9a57-3f1d2c4b5a69';

function event(id: number, status: StatusEvent['status'], at: string, extra: Partial<StatusEvent> = {}): StatusEvent {
  return { id, batchId: BATCH, filename: `f${id}.jpg`, status, error: null, errorCode: null, width: null, height: null, workerId: null, processingMs: null, at, ...extra };
}

function storeWith(keys: string[]): BatchStore {
  const store = new BatchStore(BATCH);
  store.addFiles(keys.map((key) => ({ key, name: `${key}.jpg`, size: 1000 })));
  return store;
}

describe('batch store', () => {
  it('adds each file once and reports what changed in one notification', async () => {
    const store = new BatchStore(BATCH);
    const notes: Array<[string[], boolean]> = [];
    store.subscribe((changed, structural) => notes.push([[...changed].sort(), structural]));
    assert.equal(store.addFiles([{ key: 'a', name: 'a.jpg', size: 1 }, { key: 'b', name: 'b.jpg', size: 2 }]).length, 2);
    assert.equal(store.addFiles([{ key: 'a', name: 'a.jpg', size: 1 }]).length, 0);
    await Promise.resolve();
    assert.deepEqual(notes, [[['a', 'b'], true]]);
    assert.deepEqual(store.counts(), { total: 2, queued: 2, uploading: 0, pending: 0, processing: 0, completed: 0, failed: 0 });
  });

  it('keeps events that arrive before the upload answer and applies them once the id is known', () => {
    const store = storeWith(['a']);
    store.markUploading(['a']);
    assert.equal(store.applyStatus(event(7, 'processing', '2026-01-01T00:00:01.000Z')), null);
    assert.equal(store.applyStatus(event(7, 'completed', '2026-01-01T00:00:02.000Z', { width: 800, height: 600 })), null);
    store.uploadResult({ key: 'a', ok: true, batchId: BATCH, result: { id: 7, filename: 'a.jpg', status: 'pending' } });
    const card = store.get('a')!;
    assert.equal(card.status, 'completed');
    assert.deepEqual(card.result, { width: 800, height: 600 });
  });

  it('ignores stale events, but takes a later stage within the same millisecond', () => {
    const store = storeWith(['a']);
    store.uploadResult({ key: 'a', ok: true, batchId: BATCH, result: { id: 1, filename: 'a.jpg', status: 'pending' } });
    store.applyStatus(event(1, 'completed', '2026-01-01T00:00:05.000Z', { width: 10, height: 10 }));
    assert.equal(store.applyStatus(event(1, 'processing', '2026-01-01T00:00:04.000Z')), null, 'older: ignored');
    assert.equal(store.get('a')!.status, 'completed');

    const fast = storeWith(['b']);
    fast.uploadResult({ key: 'b', ok: true, batchId: BATCH, result: { id: 2, filename: 'b.jpg', status: 'pending' } });
    fast.applyStatus(event(2, 'processing', '2026-01-01T00:00:01.000Z'));
    assert.equal(fast.applyStatus(event(2, 'completed', '2026-01-01T00:00:01.000Z')), 'b', 'same ms, later stage');
    assert.equal(fast.applyStatus(event(2, 'processing', '2026-01-01T00:00:01.000Z')), null, 'same ms, earlier stage');
    assert.equal(fast.get('b')!.status, 'completed');
  });

  it('ignores other batches, and re-reads the batch after a reconnect', () => {
    const store = storeWith(['a']);
    store.uploadResult({ key: 'a', ok: true, batchId: BATCH, result: { id: 3, filename: 'a.jpg', status: 'pending' } });
    assert.equal(store.applyStatus({ ...event(3, 'failed', '2026-01-01T00:00:09.000Z'), batchId: newBatchId() }), null);
    const summary = {
      id: 3,
      batchId: BATCH,
      status: 'failed',
      error: 'corrupt or truncated image data',
      errorCode: 'CORRUPT_IMAGE',
      width: null,
      height: null,
      uploadedAt: '2026-01-01T00:00:00.000Z',
      startedAt: '2026-01-01T00:00:01.000Z',
      processedAt: '2026-01-01T00:00:02.000Z',
    } as unknown as ImageSummary;
    store.reconcile([summary]);
    const card = store.get('a')!;
    assert.equal(card.status, 'failed');
    assert.equal(card.errorCode, 'CORRUPT_IMAGE');
  });

  it('puts cancelled uploads back in the queue and can retry', () => {
    const store = storeWith(['a', 'b']);
    store.markUploading(['a', 'b']);
    store.uploadResult({ key: 'a', ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' });
    store.uploadResult({ key: 'b', ok: false, cancelled: false, error: 'unreachable', code: 'OFFLINE' });
    assert.equal(store.get('a')!.status, 'queued');
    assert.equal(store.get('b')!.status, 'failed');
    assert.deepEqual(store.uploadable().map((c) => c.key), ['a', 'b'], 'a failed send can be sent again');
    assert.equal(store.inFlight(), 0);
  });

  it('sends photos deleted on the server back to the queue, one by id or all at once', () => {
    const store = storeWith(['a', 'b', 'c']);
    store.uploadResult({ key: 'a', ok: true, batchId: BATCH, result: { id: 11, filename: 'a.jpg', status: 'pending' } });
    store.uploadResult({ key: 'b', ok: true, batchId: BATCH, result: { id: 12, filename: 'b.jpg', status: 'pending' } });
    store.applyStatus(event(11, 'completed', '2026-01-01T00:00:03.000Z', { width: 800, height: 600 }));
    assert.deepEqual(store.forgetDeleted(99), [], 'an id this window never held');
    assert.deepEqual(store.forgetDeleted(11), ['a']);
    const a = store.get('a')!;
    assert.deepEqual([a.id, a.status, a.result, a.note?.text], [null, 'queued', null, 'Deleted on the server: Upload sends it again']);
    assert.equal(store.applyStatus(event(11, 'completed', '2026-01-01T00:00:04.000Z')), null, 'the deleted id no longer reaches the card');
    assert.deepEqual(store.forgetDeleted('*'), ['b'], 'TRUNCATE: every uploaded card');
    assert.deepEqual(store.uploadable().map((c) => c.key), ['a', 'b', 'c']);
  });

  it('clears into a new batch id', () => {
    const store = storeWith(['a']);
    const before = store.batchId;
    store.clear();
    assert.equal(store.size, 0);
    assert.notEqual(store.batchId, before);
    assert.match(store.batchId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('progress and ETA', () => {
  it('counts upload as the first half of a file\'s work', () => {
    const store = storeWith(['a']);
    store.markUploading(['a']);
    store.uploadProgress({ key: 'a', loaded: 50, total: 100, attempt: 1 });
    assert.equal(cardWork(store.get('a')!), 0.25);
  });

  it('estimates from the recent pace', () => {
    const eta = new EtaEstimator(20_000);
    assert.equal(eta.update(0, 10, 0), null);
    assert.equal(eta.update(2, 10, 2000), 8000, '1 unit/s, 8 left');
    assert.equal(eta.update(10, 10, 9000), 0);
    assert.equal(formatDuration(8000), '8 s');
    assert.equal(formatDuration(125_000), '2 min 05 s');
  });
});

describe('shortcuts', () => {
  const key = (k: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) =>
    shortcutFor({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
  it('maps Ctrl/Cmd+O, +U and +Shift+S', () => {
    assert.equal(key('o', { ctrlKey: true }), 'open-files');
    assert.equal(key('O', { metaKey: true, shiftKey: true }), 'open-folder');
    assert.equal(key('u', { ctrlKey: true }), 'upload');
    assert.equal(key('S', { ctrlKey: true, shiftKey: true }), 'download-all');
    assert.equal(key('s', { ctrlKey: true }), null, 'plain Ctrl+S is not ours');
    assert.equal(key('u'), null);
    assert.equal(key('u', { ctrlKey: true, altKey: true }), null);
  });
});

describe('batch store: files refused for their content, and idempotency keys', () => {
  const failedPreview = (code: string) => ({ ok: false as const, path: 'p', bytes: 10, error: `refused: ${code}`, code });

  it('fails at once, and never uploads, a file the local check refuses; other preview failures stay queued', () => {
    const store = storeWith(['bad', 'odd', 'good']);
    store.setPreview('bad', failedPreview('CORRUPT_IMAGE'));
    store.setPreview('odd', failedPreview('INTERNAL'));
    assert.equal(store.get('bad')?.status, 'failed');
    assert.equal(store.get('bad')?.rejectedBy, 'computer');
    assert.equal(store.get('odd')?.status, 'queued', 'a failure of the preview itself says nothing about the file');
    assert.deepEqual(store.uploadable().map((c) => c.key), ['odd', 'good']);
    assert.equal(store.retryable(store.get('bad')!), false);
    store.requeue('bad');
    assert.equal(store.get('bad')?.status, 'failed', 'not put back in the queue either');
  });

  it('offers no retry for a file the backend refused in its upload answer, but does for one that failed later', () => {
    const store = storeWith(['refused', 'later']);
    store.markUploading(['refused', 'later']);
    store.uploadResult({ key: 'refused', ok: true, batchId: BATCH, result: { id: 1, filename: 'r.jpg', status: 'failed', error: 'too big', code: 'FILE_TOO_LARGE' } });
    store.uploadResult({ key: 'later', ok: true, batchId: BATCH, result: { id: 2, filename: 'l.jpg', status: 'pending' } });
    store.applyStatus(event(2, 'failed', '2026-01-01T00:00:03.000Z', { error: 'worker crashed', errorCode: 'WORKER_CRASHED' }));
    assert.equal(store.retryable(store.get('refused')!), false);
    assert.equal(store.retryable(store.get('later')!), true);
  });

  it("keeps a file's upload key after no answer, and makes a new one after an answer", () => {
    const store = storeWith(['a']);
    store.markUploading(['a']);
    const first = store.get('a')!.uploadKey;
    assert.match(String(first), /^[0-9a-f-]{36}$/);
    store.uploadResult({ key: 'a', ok: false, cancelled: false, error: 'no answer', code: 'NO_RESPONSE' });
    store.markUploading(['a']);
    assert.equal(store.get('a')!.uploadKey, first, 'the Retry is the same request');
    store.uploadResult({ key: 'a', ok: false, cancelled: false, error: 'boom', code: 'INTERNAL' });
    assert.equal(store.get('a')!.uploadKey, null);
    store.markUploading(['a']);
    assert.notEqual(store.get('a')!.uploadKey, first, 'answered: the next try is a new request');
  });
});
