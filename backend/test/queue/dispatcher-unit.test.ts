/**
 * The dispatcher's arithmetic with fakes of its store and pool: how many it
 * claims, when a local thread is free, what it writes after an upload commits
 * or rolls back, what it retries. Fast and exact, where the end-to-end tests
 * can only see timing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildOutputOptionsSchema, DEFAULT_OUTPUT_OPTIONS } from '../../src/contract/output-options.js';
import { createLogger } from '../../src/logger.js';
import { DEFAULT_RULES } from '../../src/imaging/index.js';
import { Dispatcher, type LeaseStore, type ResizeRunner } from '../../src/queue/dispatcher.js';
import type { ClaimedImage } from '../../src/queue/repository.js';
import type pg from 'pg';
import { PostgresBlobStore } from '../../src/blobs/pg-store.js';
import type { BlobInput } from '../../src/workers/pool.js';
import type { ResizeTaskResult } from '../../src/workers/resize-task.js';

const logger = createLogger('silent', { pod: 'unit' });
const tick = () => new Promise((r) => setImmediate(r));
async function settle(rounds = 40): Promise<void> {
  for (let i = 0; i < rounds; i++) await tick();
}

class FakeStore implements LeaseStore {
  pending: number[] = [];
  claims: number[] = [];
  completed: number[] = [];
  failed: { id: number; code: string }[] = [];
  retried: { id: number; code: string }[] = [];
  releasedIds: number[] = [];
  failNextCompletes = 0;

  async failExhausted(): Promise<number> {
    return 0;
  }
  async claim(_w: string, limit: number): Promise<ClaimedImage[]> {
    this.claims.push(limit);
    return this.pending.splice(0, limit).map((id) => ({ id, attempts: 1, options: null, originalKey: null, cost: { memoryBytes: 1000, cpuMs: 10 } }));
  }
  started: number[] = [];
  async startHeld(id: number): Promise<boolean> {
    this.started.push(id);
    return true;
  }
  async renewLeases(_w: string, ids: number[]) {
    return { renewed: ids, lost: [] };
  }
  async complete(id: number): Promise<boolean> {
    if (this.failNextCompletes > 0) {
      this.failNextCompletes--;
      throw Object.assign(new Error('Connection terminated unexpectedly'), {});
    }
    this.completed.push(id);
    return true;
  }
  async fail(id: number, _w: string, _e: string, code: string): Promise<boolean> {
    this.failed.push({ id, code });
    return true;
  }
  async retryLater(id: number, _w: string, _e: string, code: string): Promise<'pending' | 'failed' | 'lost'> {
    this.retried.push({ id, code });
    return 'failed';
  }
  async release(_w: string, ids: number[]): Promise<number> {
    this.releasedIds.push(...ids);
    return ids.length;
  }
}

/** A pool whose resizes finish when the test says so. */
class FakePool implements ResizeRunner {
  readonly started: { bytes: Uint8Array; finish: (r: ResizeTaskResult) => void }[] = [];
  constructor(readonly size: number) {}
  resize(input: Uint8Array | BlobInput): Promise<ResizeTaskResult> {
    assert.ok(input instanceof Uint8Array, 'the postgres store hands the worker bytes');
    return new Promise((resolve) => this.started.push({ bytes: input, finish: resolve }));
  }
  finishAll(
    result: ResizeTaskResult = {
      ok: true,
      data: new ArrayBuffer(4),
      width: 8,
      height: 6,
      inputWidth: 16,
      inputHeight: 12,
      format: 'jpeg',
      outputFormat: 'jpeg',
      quality: 85,
      workMs: 1,
    },
  ): void {
    for (const s of this.started.splice(0)) s.finish(result);
  }
}

/**
 * The postgres store's part the dispatcher uses: bytes read for the worker
 * (every original here is "bytes"), results staged in memory.
 */
class FakeBlobs extends PostgresBlobStore {
  constructor() {
    super(undefined as unknown as pg.Pool);
  }
  override async read(): Promise<Buffer> {
    return Buffer.from('bytes');
  }
}

function dispatcher(store: FakeStore, pool: FakePool, overrides: { memoryBudgetBytes?: number; handOffBytes?: number } = {}): Dispatcher {
  return new Dispatcher(
    store,
    pool,
    new FakeBlobs(),
    {
      podName: 'unit',
      leaseSeconds: 30,
      maxAttempts: 3,
      pollMs: 60_000,
      rules: DEFAULT_RULES,
      defaults: DEFAULT_OUTPUT_OPTIONS,
      optionsSchema: buildOutputOptionsSchema({ maxWidth: 4000, maxHeight: 4000, formats: ['jpeg', 'webp'] }),
      memoryBudgetBytes: overrides.memoryBudgetBytes ?? 1e9,
      timeLimit: { baseMs: 1000, slack: 4, speed: () => 1 },
      handOffBytes: overrides.handOffBytes ?? 0,
    },
    logger,
  );
}

const stored = (id: number, committed = Promise.resolve(true)) => Promise.resolve({ id, committed });
/** A job that needs `memoryBytes` of the budget and little work. */
const need = (memoryBytes: number) => ({ memoryBytes, cpuMs: 10 });

describe('dispatcher (unit, with fakes)', () => {
  it('claims exactly its free threads, and what a local reservation leaves', async () => {
    const store = new FakeStore();
    store.pending = [1, 2, 3, 4, 5, 6, 7];
    const pool = new FakePool(4);
    const d = dispatcher(store, pool);
    const local = d.reserveLocal();
    assert.ok(local);
    d.kick();
    await settle();
    assert.deepEqual(store.claims, [3], 'one thread was promised to the upload');
    assert.equal(pool.started.length, 3);
    assert.equal(d.reserveLocal(), undefined, 'no thread left for another upload');
    local.cancel();
    await settle();
    assert.deepEqual(store.claims, [3, 1], 'a cancelled reservation is claimed for at once');
    await d.drain(0);
  });

  it('writes a local result only after the upload commits, and drops it on rollback', async () => {
    const store = new FakeStore();
    const pool = new FakePool(2);
    const d = dispatcher(store, pool);
    let commit!: (ok: boolean) => void;
    const committed = new Promise<boolean>((r) => (commit = r));
    d.reserveLocal()!.start({ key: null, data: Buffer.from('x') }, need(100), DEFAULT_OUTPUT_OPTIONS, Promise.resolve({ id: 10, committed }));
    let rollback!: (ok: boolean) => void;
    const rolledBack = new Promise<boolean>((r) => (rollback = r));
    d.reserveLocal()!.start({ key: null, data: Buffer.from('y') }, need(100), DEFAULT_OUTPUT_OPTIONS, Promise.resolve({ id: 11, committed: rolledBack }));
    await settle();
    assert.equal(pool.started.length, 2, 'both resized at once, before their uploads commit');
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed, [], 'nothing written before the commit');
    const again = d.reserveLocal();
    assert.ok(again, 'the thread is free again while the result waits');
    again.cancel();
    commit(true);
    rollback(false);
    await settle();
    assert.deepEqual(store.completed, [10]);
    await d.drain(0);
  });

  it('retries a result write that fails for a passing reason', async (t) => {
    // The backoff's clock is the subject: fake setTimeout and step through it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const store = new FakeStore();
    store.pending = [20];
    store.failNextCompletes = 2;
    const pool = new FakePool(1);
    const d = dispatcher(store, pool);
    d.kick();
    await settle();
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed, [], 'the first write failed and waits out its backoff');
    // Two failed writes back off 100 ms then 200 ms, each at most +25 % jitter.
    t.mock.timers.tick(125);
    await settle();
    t.mock.timers.tick(250);
    await settle();
    assert.deepEqual(store.completed, [20]);
    t.mock.timers.reset();
    await d.drain(0);
  });

  it('hands a timed-out image back through retryLater, and refuses what can never fit the decode budget', async () => {
    const store = new FakeStore();
    store.pending = [30];
    const pool = new FakePool(2);
    const d = dispatcher(store, pool, { memoryBudgetBytes: 500 });
    d.kick();
    await settle();
    assert.equal(pool.started.length, 0, 'a 1000-byte decode never reaches a 500-byte budget');
    assert.deepEqual(store.failed, [{ id: 30, code: 'TOO_MUCH_MEMORY' }]);
    d.reserveLocal()!.start(
      { key: null, data: Buffer.from('z') },
      need(100),
      DEFAULT_OUTPUT_OPTIONS,
      Promise.resolve({ id: 31, committed: Promise.resolve(true) }),
    );
    await settle();
    pool.finishAll({ ok: false, code: 'TIMEOUT', error: 'too slow', workMs: 1000 });
    await settle();
    assert.deepEqual(store.retried, [{ id: 31, code: 'TIMEOUT' }]);
    await d.drain(0);
  });

  it("hands an upload's image to the next free thread when all are busy, before any claim", async () => {
    const store = new FakeStore();
    store.pending = [50, 51];
    const pool = new FakePool(2);
    const d = dispatcher(store, pool, { handOffBytes: 100 });
    d.reserveLocal(1)!.start({ key: null, data: Buffer.alloc(1) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(1));
    d.reserveLocal(1)!.start({ key: null, data: Buffer.alloc(1) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(2));
    const handOff = d.reserveLocal(10);
    assert.ok(handOff, 'taken although both threads are busy');
    assert.equal(handOff.handedOver, true, 'stored pending, held for this pod');
    handOff.start({ key: null, data: Buffer.alloc(10) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(3));
    d.kick();
    await settle();
    assert.equal(pool.started.length, 2, 'it waits for a thread');
    assert.equal(d.waitingForThread, 1);
    assert.deepEqual(store.claims, [], 'nothing claimed while an image waits');
    pool.finishAll();
    await settle();
    assert.equal(pool.started[0]?.bytes.length, 10, 'the first thread freed went to the handed-over image');
    assert.deepEqual(store.claims, [1], 'the other freed thread claims from the table');
    assert.equal(d.waitingForThread, 0);
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed.sort(), [1, 2, 3, 50]);
    assert.deepEqual(store.started, [3], 'only the handed-over image is marked started, when its thread takes it');
    await d.drain(0);
  });

  it('drops a waiting handed-over image unstarted when its upload rolls back', async () => {
    const store = new FakeStore();
    const pool = new FakePool(1);
    const d = dispatcher(store, pool, { handOffBytes: 100 });
    d.reserveLocal(1)!.start({ key: null, data: Buffer.alloc(1) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(1));
    d.reserveLocal(10)!.start({ key: null, data: Buffer.alloc(10) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(2, Promise.resolve(false)));
    store.pending = [3];
    await settle();
    pool.finishAll();
    await settle();
    assert.equal(pool.started.length, 1);
    assert.equal(pool.started[0]?.bytes.length, 5, "the freed thread claimed from the table instead (FakeStore's original)");
    assert.deepEqual(store.started, [], 'the rolled-back image was never marked started');
    assert.equal(d.waitingForThread, 0);
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed.sort(), [1, 3]);
    await d.drain(0);
  });

  it("takes an upload's image while a claim is in flight, instead of sending it to the table", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const store = new (class extends FakeStore {
      override async claim(w: string, limit: number): Promise<ClaimedImage[]> {
        await gate;
        return super.claim(w, limit);
      }
    })();
    const pool = new FakePool(2);
    const d = dispatcher(store, pool, { handOffBytes: 100 });
    d.kick();
    await settle();
    const local = d.reserveLocal(10);
    assert.ok(local, 'the idle pod takes it although the claim holds both threads');
    local.start({ key: null, data: Buffer.alloc(10) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(80));
    open();
    await settle();
    assert.equal(pool.started.length, 1, 'the claim found nothing, so the image ran at once');
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed, [80]);
    await d.drain(0);
  });

  it("bounds the hand-off to a thread's worth of images and its bytes, and a drain hands waiting ones back unstarted", async () => {
    const store = new FakeStore();
    const pool = new FakePool(1);
    const d = dispatcher(store, pool, { handOffBytes: 25 });
    d.reserveLocal(1)!.start({ key: null, data: Buffer.alloc(1) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(60));
    assert.equal(d.reserveLocal(30), undefined, 'more bytes than the hand-off may hold');
    d.reserveLocal(10)!.start({ key: null, data: Buffer.alloc(10) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(61));
    assert.equal(d.reserveLocal(5), undefined, 'one thread: one image may wait');
    const other = dispatcher(new FakeStore(), new FakePool(1));
    other.reserveLocal(1)!.start({ key: null, data: Buffer.alloc(1) }, need(100), DEFAULT_OUTPUT_OPTIONS, stored(70));
    assert.equal(other.reserveLocal(1), undefined, 'HANDOFF_MEMORY_MB=0: nothing waits');
    await settle();
    const outcome = await d.drain(0);
    assert.equal(pool.started.length, 1, 'the waiting image never started');
    assert.deepEqual(store.releasedIds.sort(), [60, 61], 'both handed back for another pod');
    assert.deepEqual(outcome, { finished: 0, released: 2 });
    await other.drain(0);
  });

  it("keeps a stopped thread's share of the decode budget until that thread is really gone", async () => {
    const store = new FakeStore();
    store.pending = [90, 91];
    let threadGone!: () => void;
    const pool = new (class extends FakePool {
      override resize(bytes: Uint8Array | BlobInput, _rules?: unknown, run?: { onAbandoned?: (exited: Promise<void>) => void }): Promise<ResizeTaskResult> {
        if (this.started.length === 0 && store.retried.length === 0) run?.onAbandoned?.(new Promise((r) => (threadGone = r)));
        return super.resize(bytes);
      }
    })(2);
    const d = dispatcher(store, pool, { memoryBudgetBytes: 1500 });
    d.kick();
    await settle();
    assert.equal(pool.started.length, 1, '1000 + 1000 bytes of decode do not fit a 1500-byte budget');
    pool.started.shift()!.finish({ ok: false, code: 'TIMEOUT', error: 'too slow; its worker thread was stopped', workMs: 1000 });
    await settle();
    assert.deepEqual(store.retried, [{ id: 90, code: 'TIMEOUT' }]);
    assert.equal(pool.started.length, 0, 'the stopped thread may still hold its memory: the next image waits');
    threadGone();
    await settle();
    assert.equal(pool.started.length, 1, 'once it is gone, the next image starts');
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed, [91]);
    await d.drain(0);
  });

  it('claims nothing more while a claimed job waits for memory, and gives every job its time limit from its work', async () => {
    const store = new FakeStore();
    store.pending = [70, 71, 72, 73];
    const runs: { timeLimitMs?: number; limitNote?: string }[] = [];
    const pool = new (class extends FakePool {
      override resize(bytes: Uint8Array | BlobInput, _rules?: unknown, run?: { timeLimitMs?: number; limitNote?: string }): Promise<ResizeTaskResult> {
        runs.push(run ?? {});
        return super.resize(bytes);
      }
    })(4);
    // Room for one 1000-byte job at a time.
    const d = dispatcher(store, pool, { memoryBudgetBytes: 1500 });
    d.kick();
    await settle();
    assert.deepEqual(store.claims, [4], 'four free threads, four claimed');
    assert.equal(pool.started.length, 1, 'one fits the budget; three wait for memory');
    store.pending = [74, 75];
    d.kick();
    await settle();
    assert.deepEqual(store.claims, [4], 'nothing more is claimed while jobs wait for memory: other pods may have room');
    assert.equal(runs[0]!.timeLimitMs, 1000 + 4 * 10 * 1, 'base + slack × work × speed');
    assert.match(runs[0]!.limitNote ?? '', /fair share of one core/);
    pool.finishAll();
    await settle();
    assert.deepEqual(store.completed, [70]);
    assert.equal(pool.started.length, 1, 'the next waiting job takes the freed memory');
    await d.drain(0);
  });

  it("checks a claimed row's stored options once, at claim: options this server refuses fail the image, with the field", async () => {
    const store = new (class extends FakeStore {
      override async claim(w: string, limit: number): Promise<ClaimedImage[]> {
        const claimed = await super.claim(w, limit);
        // Stored by a server with higher limits and AVIF: this one allows neither.
        return claimed.map((c) => ({ ...c, options: { ...DEFAULT_OUTPUT_OPTIONS, width: 8000, format: 'avif' as const } }));
      }
    })();
    store.pending = [95];
    const pool = new FakePool(2);
    const d = dispatcher(store, pool);
    d.kick();
    await settle();
    assert.equal(pool.started.length, 0, 'never resized with options this server refuses');
    assert.deepEqual(store.failed, [{ id: 95, code: 'INVALID_OPTIONS' }]);
    await d.drain(0);
  });

  it('drains: claims nothing more, hands back what did not finish in the grace', async () => {
    const store = new FakeStore();
    store.pending = [40, 41];
    const pool = new FakePool(2);
    const d = dispatcher(store, pool);
    d.kick();
    await settle();
    const outcome = await d.drain(50);
    assert.deepEqual(outcome, { finished: 0, released: 2 });
    assert.deepEqual(store.releasedIds.sort(), [40, 41]);
    store.pending = [42];
    d.kick();
    await settle();
    assert.deepEqual(store.claims, [2], 'nothing claimed after draining began');
    assert.equal(d.reserveLocal(), undefined);
  });
});
