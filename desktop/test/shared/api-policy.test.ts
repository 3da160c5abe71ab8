/** The shared client policy on its own: fast, no network, no DOM. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RETRY,
  absentFromListing,
  backoffDelay,
  batchPageQuery,
  createLimiter,
  failureFromResponse,
  goneAmong,
  isRejection,
  isTransientFailure,
  isTransientStatus,
  mapLimit,
  newIdempotencyKey,
  noAnswerFailure,
  offlineFailure,
  parseErrorBody,
  readAllPages,
  requestTimeoutFailure,
  withRetries,
} from '../../src/shared/api-policy/index.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('client policy: what is retried, and when', () => {
  it('retries only unreachable backends and the "not now" statuses', () => {
    for (const status of [429, 502, 503, 504]) assert.equal(isTransientStatus(status), true, String(status));
    for (const status of [200, 400, 401, 404, 409, 413, 422, 500]) assert.equal(isTransientStatus(status), false, String(status));
    assert.equal(isTransientFailure({ code: 'OFFLINE' }), true);
    assert.equal(isTransientFailure({ code: 'HTTP_503', status: 503 }), true);
    assert.equal(isTransientFailure({ code: 'UNSUPPORTED_TYPE', status: 400 }), false);
    assert.equal(isTransientFailure({ code: 'NO_RESPONSE' }), false, 'a stuck upload is reported, not retried by itself');
  });

  it('backs off exponentially with equal jitter, capped', () => {
    const policy = { retries: 9, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0)),
      [50, 100, 200, 400, 500, 500],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0.999999).toFixed(0)),
      ['100', '200', '400', '800', '1000'],
    );
    for (let i = 0; i < 50; i++) {
      const first = backoffDelay(1);
      assert.ok(first >= DEFAULT_RETRY.baseDelayMs / 2 && first <= DEFAULT_RETRY.baseDelayMs, `first retry after ${first} ms`);
    }
  });

  it('runs the retry loop: stops at the first answer, after the retries, or when cancelled', async () => {
    const waits: number[] = [];
    const run = (answers: ('ok' | 'again')[], cancelAfter = Infinity) =>
      withRetries<string, string>({
        policy: { retries: 2, baseDelayMs: 10, maxDelayMs: 100 },
        attempt: async (n) => (answers[n - 1] === 'ok' ? { done: `ok on ${n}` } : { retry: `failed ${n}` }),
        wait: async (ms) => {
          waits.push(ms);
          return waits.length <= cancelAfter;
        },
        exhausted: (last) => `gave up after ${last}`,
        cancelled: () => 'cancelled',
      });
    assert.equal(await run(['ok']), 'ok on 1');
    assert.equal(await run(['again', 'again', 'ok']), 'ok on 3');
    assert.equal(await run(['again', 'again', 'again', 'ok']), 'gave up after failed 3', 'two retries, so three attempts');
    waits.length = 0;
    assert.equal(await run(['again', 'again', 'ok'], 0), 'cancelled');
  });
});

describe('client policy: answers as failures', () => {
  it("keeps the backend's code and words, and the status line otherwise", () => {
    assert.deepEqual(failureFromResponse(400, 'Bad Request', { error: 'the file is empty', code: 'EMPTY_FILE' }), {
      code: 'EMPTY_FILE',
      message: 'the file is empty',
      status: 400,
    });
    assert.deepEqual(failureFromResponse(502, 'Bad Gateway', '<html>nginx</html>'), {
      code: 'HTTP_502',
      message: 'the backend answered 502 Bad Gateway',
      status: 502,
    });
    assert.deepEqual(failureFromResponse(503, '', null), { code: 'HTTP_503', message: 'the backend answered 503', status: 503 });
    assert.deepEqual(parseErrorBody('{"error":"no","code":"NOT_FOUND"}'), { error: 'no', code: 'NOT_FOUND' });
    assert.equal(parseErrorBody({ code: 'X' }), null);
    assert.equal(offlineFailure('http://h:1', 'ECONNREFUSED').message, 'the backend at http://h:1 is unreachable (ECONNREFUSED)');
  });

  it('names the upload time limits with their bound', () => {
    const timeouts = { responseAfterBodyMs: 1500, requestMs: 120_000 };
    assert.deepEqual(noAnswerFailure(timeouts), { code: 'NO_RESPONSE', message: 'the file was sent, but the backend did not answer within 1.5 s; retry it' });
    assert.equal(requestTimeoutFailure(timeouts).code, 'UPLOAD_TIMEOUT');
    assert.match(requestTimeoutFailure(timeouts).message, /longer than 120 s/);
  });

  it('tells content refusals (never retried) from other failures', () => {
    for (const code of ['EMPTY_FILE', 'FILE_TOO_LARGE', 'UNSUPPORTED_TYPE', 'TOO_MANY_PIXELS', 'CORRUPT_IMAGE']) assert.equal(isRejection(code), true, code);
    for (const code of ['OFFLINE', 'WORKER_CRASHED', 'NO_RESPONSE', 'INTERNAL', null, undefined]) assert.equal(isRejection(code), false, String(code));
  });
});

describe('client policy: paging, concurrency, idempotency keys', () => {
  it('reads every page, stopping at a short page or at the total', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => i);
    const asked: string[] = [];
    const all = await readAllPages(async (offset, limit) => {
      asked.push(`${offset}+${limit}`);
      return { images: rows.slice(offset, offset + limit), total: rows.length };
    }, 3);
    assert.deepEqual(all, rows);
    assert.deepEqual(asked, ['0+3', '3+3', '6+3']);
    // Rows added while paging must not make it loop on: the total read first bounds it.
    const growing = await readAllPages(async (offset, limit) => ({ images: Array.from({ length: limit }, (_, i) => offset + i), total: 4 }), 2);
    assert.deepEqual(growing, [0, 1, 2, 3]);
    assert.equal(batchPageQuery('a b', 2000, 1000), 'batchId=a%20b&limit=1000&offset=2000');
  });

  it('never runs more than the bound at once, and follows a new bound', async () => {
    let running = 0;
    let peak = 0;
    const task = async (i: number): Promise<number> => {
      running++;
      peak = Math.max(peak, running);
      // One turn of the event loop keeps it in flight while the others start: overlap, not time, is the point.
      await new Promise((r) => setImmediate(r));
      running--;
      return i * 2;
    };
    assert.deepEqual(await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, task), [2, 4, 6, 8, 10, 12, 14]);
    assert.equal(peak, 3);
    const limiter = createLimiter(1);
    peak = 0;
    const all = Promise.all([1, 2, 3, 4].map((i) => limiter.run(() => task(i))));
    assert.equal(limiter.waiting, 3);
    limiter.setConcurrency(4);
    await all;
    assert.ok(peak >= 2, `the new bound let more run (${peak})`);
  });

  it('makes a fresh v4 UUID per request, also where crypto.randomUUID is missing (plain-http pages)', () => {
    const keys = new Set(Array.from({ length: 200 }, () => newIdempotencyKey()));
    assert.equal(keys.size, 200);
    for (const key of keys) assert.match(key, UUID_V4);
    const insecure = { getRandomValues: <T extends Uint8Array>(a: T): T => globalThis.crypto.getRandomValues(a) };
    const fallback = Array.from({ length: 50 }, () => newIdempotencyKey(insecure));
    for (const key of fallback) assert.match(key, UUID_V4);
    assert.equal(new Set(fallback).size, 50);
  });
});

describe('client policy: photos deleted while not listening', () => {
  it('names the known ids a listing lacks, in the order known', () => {
    assert.deepEqual(absentFromListing([7, 3, 9, 4], [{ id: 9 }, { id: 12 }, { id: 7 }]), [3, 4]);
    assert.deepEqual(absentFromListing(new Set([1, 2]), [{ id: 1 }, { id: 2 }]), []);
  });

  it('counts as gone only what the server says it does not have, asking at most four at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const asked: number[] = [];
    const gone = await goneAmong([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], async (id) => {
      asked.push(id);
      most = Math.max(most, ++inFlight);
      // In flight for one turn of the event loop, while the others are asked.
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return id % 3 !== 0;
    });
    assert.deepEqual(gone, [3, 6, 9]);
    assert.deepEqual(
      [...asked].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(most, 4);
  });

  it('fails as a whole when any answer is not a definite one (offline): nothing is taken for deleted', async () => {
    await assert.rejects(
      goneAmong([1, 2, 3], async (id) => {
        if (id === 2) throw new Error('offline');
        return false;
      }),
      /offline/,
    );
  });
});
