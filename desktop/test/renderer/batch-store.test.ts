/** The main window's state rules, in Node: ordering of live events, early events, re-reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchStore } from '../../src/renderer/app/batch-store.js';
import { newBatchId } from '../../src/renderer/app/batch-id.js';
import { EtaEstimator, cardWork, formatDuration } from '../../src/renderer/app/progress.js';
import { shortcutFor } from '../../src/renderer/app/shortcuts.js';
import type { WindowContext } from '../../src/renderer/app/window-context.js';
import { noteOutcome } from '../../src/renderer/app/write-report.js';
import type { Platform } from '../../src/renderer/platform/platform.js';
import type { ImageSummary, StatusEvent } from '../../src/shared/models.js';

const BATCH = '7b0f9c3e-2a51-4c1e-9a57-3f1d2c4b5a69';

function event(id: number, status: StatusEvent['status'], at: string, extra: Partial<StatusEvent> = {}): StatusEvent {
  return {
    id,
    batchId: BATCH,
    filename: `f${id}.jpg`,
    status,
    error: null,
    errorCode: null,
    width: null,
    height: null,
    workerId: null,
    processingMs: null,
    at,
    ...extra,
  };
}

function storeWith(keys: string[]): BatchStore {
  const store = new BatchStore(BATCH);
  store.addFiles(keys.map((key) => ({ key, name: `${key}.jpg`, size: 1000 })));
  return store;
}

describe('batch store', () => {
  it('adds each file once and reports what changed in one notification', async () => {
    const store = new BatchStore(BATCH);
    const notes: [string[], boolean][] = [];
    store.subscribe((changed, structural) => notes.push([[...changed].sort(), structural]));
    assert.equal(
      store.addFiles([
        { key: 'a', name: 'a.jpg', size: 1 },
        { key: 'b', name: 'b.jpg', size: 2 },
      ]).length,
      2,
    );
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
    assert.deepEqual(
      store.uploadable().map((c) => c.key),
      ['a', 'b'],
      'a failed send can be sent again',
    );
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
    assert.deepEqual(
      store.uploadable().map((c) => c.key),
      ['a', 'b', 'c'],
    );
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
  it("counts upload as the first half of a file's work", () => {
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
    assert.deepEqual(
      store.uploadable().map((c) => c.key),
      ['odd', 'good'],
    );
    assert.equal(store.retryable(store.get('bad')!), false);
    store.requeue('bad');
    assert.equal(store.get('bad')?.status, 'failed', 'not put back in the queue either');
  });

  it('offers no retry for a file the backend refused in its upload answer, but does for one that failed later', () => {
    const store = storeWith(['refused', 'later']);
    store.markUploading(['refused', 'later']);
    store.uploadResult({
      key: 'refused',
      ok: true,
      batchId: BATCH,
      result: { id: 1, filename: 'r.jpg', status: 'failed', error: 'too big', code: 'FILE_TOO_LARGE' },
    });
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

/** A listed image of the batch, as GET /api/v1/images answers it. */
function listed(id: number, filename: string, extra: Partial<ImageSummary> = {}): ImageSummary {
  return {
    id,
    batchId: BATCH,
    filename,
    contentType: 'image/jpeg',
    status: 'completed',
    error: null,
    errorCode: null,
    originalBytes: 1000,
    processedBytes: 300,
    originalWidth: 1600,
    originalHeight: 1200,
    width: 800,
    height: 600,
    attempts: 1,
    workerId: 'w',
    uploadedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    processedAt: '2026-01-01T00:00:02.000Z',
    processingMs: 10,
    options: null,
    outputQuality: null,
    sourcePath: null,
    ...extra,
  };
}

describe('batch store: batches that come back', () => {
  it('links an image whose upload answer never came to its card, by name, folders and size; never one being sent', () => {
    const store = new BatchStore(BATCH);
    store.addFiles([
      { key: 'a', name: 'a.jpg', size: 1000 },
      { key: 'b', name: 'b.jpg', size: 1000, relativePath: 'trip/b.jpg' },
      { key: 'c', name: 'c.jpg', size: 1000 },
    ]);
    store.markUploading(['a', 'b', 'c']);
    for (const key of ['a', 'b']) store.uploadResult({ key, ok: false, cancelled: true, error: 'upload cancelled', code: 'CANCELLED' });
    assert.equal(store.awaitingAnswers(), true);
    const adopted = store.adopt(
      [listed(1, 'a.jpg'), listed(2, 'b.jpg', { sourcePath: 'trip/b.jpg' }), listed(3, 'c.jpg'), listed(4, 'a.jpg', { originalBytes: 999 })],
      false,
    );
    assert.deepEqual(adopted, ['a', 'b']);
    assert.deepEqual(
      store.list().map((c) => [c.key, c.id, c.status]),
      [
        ['a', 1, 'completed'],
        ['b', 2, 'completed'],
        ['c', null, 'uploading'],
      ],
    );
    assert.equal(store.get('a')!.uploadKey, null, 'answered now');
    assert.equal(store.size, 3, "the others are not this window's: no card for them");
  });

  it("restores a remembered batch: cards with their file, cards without, and the server's other images", () => {
    const store = new BatchStore(BATCH);
    store.open(BATCH, [
      { key: '/p/here.jpg', name: 'here.jpg', size: 1000, path: '/p/here.jpg', id: 1, present: true },
      { key: '/p/sent.jpg', name: 'sent.jpg', size: 1000, path: '/p/sent.jpg', id: 2, present: false },
      { key: '/p/new.jpg', name: 'new.jpg', size: 500, path: '/p/new.jpg', id: null, present: false },
    ]);
    store.adopt(
      [
        listed(1, 'here.jpg'),
        listed(2, 'sent.jpg'),
        listed(3, 'other.jpg', { status: 'failed', error: 'boom', errorCode: 'WORKER_CRASHED', processedBytes: null }),
      ],
      true,
    );
    const [here, sent, fresh, other] = store.list();
    assert.deepEqual([here!.local, here!.status, here!.result], [true, 'completed', { width: 800, height: 600 }]);
    assert.deepEqual([sent!.local, sent!.status, sent!.resultBytes], [false, 'completed', 300]);
    assert.deepEqual(sent!.preview, { state: 'elsewhere', src: null, original: { width: 1600, height: 1200 } });
    assert.deepEqual([fresh!.local, fresh!.status, fresh!.id], [false, 'queued', null]);
    assert.match(fresh!.note?.text ?? '', /add it again/);
    assert.deepEqual([other!.file.name, other!.local, other!.status, other!.id], ['other.jpg', false, 'failed', 3]);
    assert.equal(store.retryable(other!), true, 'a failure on the cluster is retried by id, no file needed');
    assert.deepEqual(store.uploadable(), [], 'nothing this computer has to send');
    assert.deepEqual(store.savings(), { files: 2, originalBytes: 2000, resultBytes: 600 });
  });

  it('gives a card its file back when it is added again (same key, or same name, folders and size), in its place', () => {
    const store = new BatchStore(BATCH);
    store.open(BATCH, [
      { key: 'k1', name: 'one.jpg', size: 10, id: null, present: false },
      { key: 'k2', name: 'two.jpg', size: 20, relativePath: 'trip/two.jpg', id: null, present: false },
      { key: 'k3', name: 'three.jpg', size: 30, id: null, present: false },
    ]);
    const back = store.addFiles([
      { key: 'k1', name: 'one.jpg', size: 10 },
      { key: 'elsewhere/two', name: 'two.jpg', size: 20, relativePath: 'trip/two.jpg' },
      { key: 'k4', name: 'three.jpg', size: 31 },
    ]);
    assert.deepEqual(
      back.map((c) => c.key),
      ['k1', 'elsewhere/two', 'k4'],
    );
    assert.deepEqual(
      store.list().map((c) => [c.key, c.local]),
      [
        ['k1', true],
        ['elsewhere/two', true],
        ['k3', false],
        ['k4', true],
      ],
    );
    assert.deepEqual(
      store.uploadable().map((c) => c.key),
      ['k1', 'elsewhere/two', 'k4'],
    );
  });

  it('remembers what it holds, and says so again after a restore', () => {
    const store = storeWith(['a', 'b']);
    store.markUploading(['a', 'b']);
    store.uploadResult({ key: 'a', ok: true, batchId: BATCH, result: { id: 5, filename: 'a.jpg', status: 'pending' } });
    store.uploadResult({ key: 'b', ok: false, cancelled: false, error: 'no answer', code: 'NO_RESPONSE' });
    const saved = store.snapshot();
    assert.deepEqual(saved, {
      batchId: BATCH,
      files: [
        { key: 'a', name: 'a.jpg', size: 1000, id: 5 },
        { key: 'b', name: 'b.jpg', size: 1000, id: null, uploadKey: store.get('b')!.uploadKey },
      ],
    });
    const again = new BatchStore();
    again.open(
      saved.batchId,
      saved.files.map((f) => ({ ...f, present: true })),
    );
    assert.deepEqual(again.snapshot(), saved);
  });

  it('offers no Retry for what the decoder refused on the cluster, and says how a Retry ended', () => {
    const store = storeWith(['a', 'b']);
    for (const [key, id] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      store.markUploading([key]);
      store.uploadResult({ key, ok: true, batchId: BATCH, result: { id, filename: `${key}.jpg`, status: 'pending' } });
    }
    store.applyStatus(event(1, 'failed', '2026-01-01T00:00:01.000Z', { error: 'corrupt', errorCode: 'CORRUPT_IMAGE' }));
    store.applyStatus(event(2, 'failed', '2026-01-01T00:00:01.000Z', { error: 'timed out', errorCode: 'TIMEOUT' }));
    assert.equal(store.retryable(store.get('a')!), false);
    assert.equal(store.retryable(store.get('b')!), true, 'a less busy pod may make it in time');
    store.markRetried('b');
    assert.match(store.get('b')!.note?.text ?? '', /Retry 1 sent/);
    store.applyStatus(event(2, 'failed', '2026-01-01T00:00:09.000Z', { error: 'timed out', errorCode: 'TIMEOUT' }));
    assert.deepEqual(store.get('b')!.note, { text: 'Failed again after Retry (1 try)', error: true });
  });
});

describe('write reports on the cards', () => {
  it('does not repeat a reason the card shows when a write fails with the same code and other words', () => {
    // libvips words one truncated file's failure differently from one decode
    // to the next ("Premature end of JPEG file", "Warning treated as error"):
    // its error buffer is shared by every decode running at the time.
    const store = storeWith(['broken']);
    store.setPreview('broken', {
      ok: false,
      path: '/photos/broken.jpg',
      bytes: 4000,
      code: 'CORRUPT_IMAGE',
      error: 'corrupt or truncated image data (VipsJpeg: Premature end of JPEG file)',
    });
    const ctx: WindowContext = { platform: {} as Platform, store, notice: () => undefined, refresh: () => undefined };
    const failure = {
      key: 'broken',
      ok: false as const,
      code: 'CORRUPT_IMAGE',
      error: 'corrupt or truncated image data (Warning treated as error due to failOn setting)',
    };
    noteOutcome(ctx, failure, 'Resized locally to');
    assert.deepEqual(store.get('broken')!.note, { text: 'Not written: see the reason above', error: true });
    // Another reason than the one shown is told.
    noteOutcome(ctx, { ...failure, code: 'WRITE_FAILED', error: 'the output folder is read-only' }, 'Resized locally to');
    assert.deepEqual(store.get('broken')!.note, { text: 'the output folder is read-only', error: true });
  });
});
