/**
 * The one upload orchestration both hosts run (api-policy/upload-queue.ts),
 * over a scripted wire and Node's mock timers: what is retried and under
 * which key, the time limits, Cancel's count, the order of the outcomes.
 * The real wires are tested against the real backend (services/
 * upload-faults, browser/web-upload-faults).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { UploadQueue, type FileProgress, type UploadWire, type WireRequest, type WireResult } from '../../src/shared/api-policy/index.js';

interface Result {
  id: number;
  status: string;
}
type Script = (request: WireRequest<{ key: string }>, attempt: number) => Promise<WireResult> | WireResult;

const timers = { set: (run: () => void, ms: number): unknown => setTimeout(run, ms), clear: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
const answer = (id: number, status = 'pending'): WireResult => ({ kind: 'answer', status: 202, body: { batchId: 'b', images: [{ id, status }] } });

function queueOver(script: Script, options: { concurrency?: number; retries?: number } = {}) {
  const sent: { key: string; idempotencyKey: string }[] = [];
  const attempts = new Map<string, number>();
  const wire: UploadWire<{ key: string; idempotencyKey?: string }> = {
    baseUrl: () => 'http://backend.test',
    async send(request) {
      sent.push({ key: request.file.key, idempotencyKey: request.idempotencyKey });
      const n = (attempts.get(request.file.key) ?? 0) + 1;
      attempts.set(request.file.key, n);
      return script(request, n);
    },
  };
  const queue = new UploadQueue<{ key: string; idempotencyKey?: string }, Result>(wire, {
    concurrency: options.concurrency ?? 2,
    retry: { retries: options.retries ?? 2, baseDelayMs: 100, maxDelayMs: 400 },
    timeouts: { responseAfterBodyMs: 1000, requestMs: 5000 },
    timers,
    readAnswer: (body) => {
      const b = body as { batchId: string; images: Result[] };
      return b.images[0] ? { batchId: b.batchId, result: b.images[0] } : null;
    },
  });
  return { queue, sent };
}

/** Resolves when `stop` fires: the wire's request was aborted. */
const untilStopped = (request: WireRequest<{ key: string }>): Promise<WireResult> =>
  new Promise((resolve) => request.stop.onCancel(() => resolve({ kind: 'stopped' })));

describe('upload queue (both hosts)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  /** Lets the queue's promises settle, then moves the mock clock. */
  const tick = async (ms: number): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    mock.timers.tick(ms);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('retries an unreachable backend and the "not now" statuses under one key, and gives outcomes in file order', async () => {
    const { queue, sent } = queueOver((request, n) => {
      if (request.file.key === 'a' && n === 1) return { kind: 'unreachable', reason: 'ECONNRESET' };
      if (request.file.key === 'a' && n === 2) return { kind: 'answer', status: 503, body: { error: 'busy', code: 'UNAVAILABLE' } };
      return answer(request.file.key === 'a' ? 1 : 2);
    });
    const running = queue.upload('b', [{ key: 'a' }, { key: 'b' }]);
    for (let i = 0; i < 10; i++) await tick(400);
    const tally = await running;
    assert.deepEqual(
      tally.outcomes.map((o) => o.key),
      ['a', 'b'],
    );
    assert.equal(tally.accepted, 2);
    const keysOfA = sent.filter((s) => s.key === 'a').map((s) => s.idempotencyKey);
    assert.equal(keysOfA.length, 3);
    assert.equal(new Set(keysOfA).size, 1, 'the same key on every try of one file');
    assert.notEqual(keysOfA[0], sent.find((s) => s.key === 'b')?.idempotencyKey, 'a new key per file');
  });

  it('keeps the key it is given (a Retry of a request that got no answer), and reports the last failure when the retries run out', async () => {
    const { queue, sent } = queueOver(() => ({ kind: 'unreachable', reason: 'ECONNREFUSED' }), { retries: 1 });
    const running = queue.upload('b', [{ key: 'a', idempotencyKey: 'given-key' }]);
    for (let i = 0; i < 5; i++) await tick(400);
    const [outcome] = (await running).outcomes;
    assert.deepEqual(
      sent.map((s) => s.idempotencyKey),
      ['given-key', 'given-key'],
    );
    assert.deepEqual(outcome, {
      key: 'a',
      ok: false,
      cancelled: false,
      code: 'OFFLINE',
      error: 'the backend at http://backend.test is unreachable (ECONNREFUSED)',
    });
  });

  it('does not retry a refusal, and counts what the backend refused per file', async () => {
    const { queue, sent } = queueOver((request) =>
      request.file.key === 'a' ? { kind: 'answer', status: 413, body: { error: 'too big', code: 'FILE_TOO_LARGE' } } : answer(2, 'failed'),
    );
    const tally = await queue.upload('b', [{ key: 'a' }, { key: 'b' }]);
    assert.equal(sent.length, 2);
    assert.deepEqual([tally.failed, tally.rejected, tally.accepted], [1, 1, 0]);
    assert.deepEqual(tally.outcomes[0], { key: 'a', ok: false, cancelled: false, code: 'FILE_TOO_LARGE', error: 'too big' });
  });

  it('fails an attempt whose body went out but got no answer, after the limit, without retrying it', async () => {
    const progress: FileProgress[] = [];
    const { queue, sent } = queueOver((request) => {
      request.progress(500, 1000);
      request.progress(1000, 1000);
      return untilStopped(request);
    });
    const running = queue.upload('b', [{ key: 'a' }], { onProgress: (p) => progress.push(p) });
    await tick(999);
    assert.equal(sent.length, 1);
    await tick(1);
    const [outcome] = (await running).outcomes;
    assert.deepEqual(outcome, {
      key: 'a',
      ok: false,
      cancelled: false,
      code: 'NO_RESPONSE',
      error: 'the file was sent, but the backend did not answer within 1 s; retry it',
    });
    assert.equal(sent.length, 1, 'not retried by itself');
    assert.deepEqual(
      progress.map((p) => [p.loaded, p.total, p.attempt]),
      [
        [500, 1000, 1],
        [1000, 1000, 1],
      ],
    );
  });

  it('bounds the whole request too', async () => {
    const { queue } = queueOver((request) => untilStopped(request));
    const running = queue.upload('b', [{ key: 'a' }]);
    await tick(5000);
    const [outcome] = (await running).outcomes;
    assert.equal(!outcome?.ok && outcome?.code, 'UPLOAD_TIMEOUT');
  });

  it('Cancel stops what runs and what waits, says how many, and later uploads work', async () => {
    const { queue, sent } = queueOver((request) => (request.file.key === 'd' ? answer(9) : untilStopped(request)), { concurrency: 1 });
    const running = queue.upload('b', [{ key: 'a' }, { key: 'b' }, { key: 'c' }]);
    await tick(0);
    assert.equal(queue.inFlight, 3);
    assert.equal(queue.cancel(), 3);
    const tally = await running;
    assert.equal(tally.cancelled, 3);
    assert.ok(tally.outcomes.every((o) => !o.ok && o.cancelled && o.code === 'CANCELLED'));
    assert.deepEqual(
      sent.map((s) => s.key),
      ['a'],
      'the waiting files were never sent',
    );
    assert.equal(queue.inFlight, 0);
    assert.equal((await queue.upload('b', [{ key: 'd' }])).accepted, 1, 'a cancel does not stop later uploads');
  });

  it('Cancel during the wait before a retry ends it at once', async () => {
    const { queue, sent } = queueOver(() => ({ kind: 'unreachable' }));
    const running = queue.upload('b', [{ key: 'a' }]);
    await tick(0);
    queue.cancel();
    const [outcome] = (await running).outcomes;
    assert.ok(outcome && !outcome.ok && outcome.cancelled);
    assert.equal(sent.length, 1);
  });
});
