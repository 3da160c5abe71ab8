/**
 * The behaviour every BlobStore must have, run against each store (the
 * filesystem, postgres and S3 ones) on a real database with the real
 * migrations: a store's test file calls `describeBlobStore` with a factory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { BlobNotFoundError, kindOfKey, type BlobKind, type BlobRef, type BlobStore, type StagedBlob } from '../../../src/blobs/blob-store.js';
import { migrate } from '../../../src/db/migrations.js';
import { createPool } from '../../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

export interface StoreUnderTest {
  store: BlobStore;
  /** Removes what the store made outside the database (a folder, a bucket's prefix). */
  cleanup(): Promise<void>;
}

export type StoreFactory = (db: pg.Pool) => Promise<StoreUnderTest>;

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Streams `bytes` into a new blob in chunks of `chunk` bytes, as an upload's part arrives. */
export async function streamBlob(store: BlobStore, kind: BlobKind, bytes: Buffer, chunk = 64 * 1024): Promise<StagedBlob> {
  const writer = store.create(kind);
  const parts = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk));
  await pipeline(Readable.from(parts), writer.stream);
  return writer.finish();
}

/** A queue row for a blob to belong to, as an upload inserts it, with the blob attached in its transaction. */
export async function rowFor(db: pg.Pool, store: BlobStore, blob: StagedBlob): Promise<BlobRef> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO processed_images (batch_id, filename, status) VALUES ('00000000-0000-4000-8000-0000000000b1', 'blob.jpg', 'pending') RETURNING id`,
    );
    const imageId = Number(rows[0]!.id);
    await store.attach(client, imageId, blob);
    await client.query('COMMIT');
    return { imageId, kind: blob.kind, key: blob.key };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

export function describeBlobStore(name: string, factory: StoreFactory): void {
  describe(`blob store contract: ${name}`, () => {
    let database: TestDatabase;
    let db: pg.Pool;
    let subject: StoreUnderTest;
    let store: BlobStore;

    before(async () => {
      database = await createTestDatabase();
      // The server's own pool: what a store runs on, errors of idle clients included.
      db = createPool(database.url, 4);
      const c = await db.connect();
      try {
        await migrate(c);
      } finally {
        c.release();
      }
      subject = await factory(db);
      store = subject.store;
    });

    after(async () => {
      await subject?.store.close();
      await subject?.cleanup();
      await db?.end();
      await database?.drop();
    });

    it('is ready, and says what it is', async () => {
      await store.check();
      assert.equal(store.kind, name.split(' ')[0]);
    });

    it('streams a blob in, then gives back the same bytes whole, by range, in memory, with its size', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const staged = await streamBlob(store, 'original', bytes);
      assert.equal(staged.size, bytes.length);
      assert.equal(staged.kind, 'original');
      if (store.kind !== 'postgres') assert.equal(kindOfKey(staged.key!), 'original');
      const ref = await rowFor(db, store, staged);
      assert.ok((await readAll(await store.open(ref))).equals(bytes));
      assert.ok((await store.read(ref)).equals(bytes));
      assert.equal(await store.size(ref), bytes.length);
      const middle = await readAll(await store.open(ref, { start: 1000, end: 1999 }));
      assert.ok(middle.equals(bytes.subarray(1000, 2000)), 'an inclusive range');
      const tail = await readAll(await store.open(ref, { start: bytes.length - 10 }));
      assert.ok(tail.equals(bytes.subarray(bytes.length - 10)), 'a range to the end');
    });

    it('puts a result from memory', async () => {
      const bytes = randomBytes(150_000);
      const staged = await store.put('result', bytes);
      assert.equal(staged.size, bytes.length);
      if (store.kind !== 'postgres') assert.equal(kindOfKey(staged.key!), 'result');
      const ref = await rowFor(db, store, staged);
      assert.ok((await store.read(ref)).equals(bytes));
    });

    it('keeps an empty blob as an empty blob', async () => {
      const staged = await store.put('result', Buffer.alloc(0));
      const ref = await rowFor(db, store, staged);
      assert.equal((await store.read(ref)).length, 0);
      assert.equal(await store.size(ref), 0);
    });

    it('gives every blob its own key, with many written at once', async () => {
      const many = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const bytes = randomBytes(20_000 + i);
          const staged = await streamBlob(store, 'original', bytes, 4096);
          return { bytes, ref: await rowFor(db, store, staged) };
        }),
      );
      if (store.kind !== 'postgres') assert.equal(new Set(many.map((m) => m.ref.key)).size, many.length);
      for (const m of many) assert.ok((await store.read(m.ref)).equals(m.bytes));
    });

    it('says a missing blob is missing: open and read reject with BlobNotFoundError, size is null', async () => {
      const staged = await store.put('result', randomBytes(1000));
      const ref = await rowFor(db, store, staged);
      await store.remove([ref], db);
      await assert.rejects(store.open(ref), BlobNotFoundError);
      await assert.rejects(store.read(ref), BlobNotFoundError);
      assert.equal(await store.size(ref), null);
      await store.remove([ref], db); // twice: nothing to do, no error
    });

    it('leaves nothing behind for an aborted write, before or after its bytes', async () => {
      const before = await keysOlderThan(store, farFuture());
      const early = store.create('original');
      await early.abort(new Error('client gone'));
      const late = store.create('original');
      await new Promise<void>((resolve, reject) => late.stream.write(randomBytes(200_000), (err) => (err ? reject(err) : resolve())));
      await late.abort(new Error('client gone'));
      const finished = store.create('original');
      finished.stream.end(randomBytes(10_000));
      const staged = await finished.finish();
      await finished.abort(new Error('transaction rolled back'));
      const afterKeys = await keysOlderThan(store, farFuture());
      assert.deepEqual(
        [...afterKeys].filter((k) => !before.has(k)),
        [],
        'no new blob stays',
      );
      if (store.kind !== 'postgres') {
        await assert.rejects(store.open({ imageId: 0, kind: 'original', key: staged.key }), BlobNotFoundError);
      }
    });

    it('fails finish() when the stream broke, and keeps nothing of it', async () => {
      const before = await keysOlderThan(store, farFuture());
      const writer = store.create('original');
      const source = new Readable({
        read() {
          this.push(randomBytes(64 * 1024));
          this.destroy(new Error('the client went away'));
        },
      });
      await assert.rejects(pipeline(source, writer.stream));
      await assert.rejects(writer.finish());
      const afterKeys = await keysOlderThan(store, farFuture());
      assert.deepEqual(
        [...afterKeys].filter((k) => !before.has(k)),
        [],
      );
    });

    it('discards a staged blob no row will name', async () => {
      const staged = await store.put('result', randomBytes(4000));
      await store.discard(staged);
      if (store.kind !== 'postgres') {
        await assert.rejects(store.open({ imageId: 0, kind: 'result', key: staged.key }), BlobNotFoundError);
        assert.ok(!(await keysOlderThan(store, farFuture())).has(staged.key!));
      }
      await store.discard(staged); // twice: nothing to do
    });

    it('sweeps writes that never finished, and only those older than asked', async () => {
      const writer = store.create('original');
      // Past a multipart upload's first part (5 MiB), so an object store has started one too.
      await new Promise<void>((resolve, reject) => writer.stream.write(randomBytes(6 * 1024 * 1024), (err) => (err ? reject(err) : resolve())));
      assert.equal(await store.sweepIncomplete(new Date(Date.now() - 3_600_000)), 0, 'nothing an hour old');
      const swept = await store.sweepIncomplete(new Date(Date.now() + 60_000));
      if (store.kind === 'filesystem') assert.equal(swept, 1, 'the temporary file of the write in progress');
      await writer.abort(new Error('the pod died'));
    });

    it('lists blobs by age for the orphan sweep', async () => {
      if (store.kind === 'postgres') {
        assert.equal((await keysOlderThan(store, farFuture())).size, 0, 'the postgres store keeps no blob outside its rows');
        return;
      }
      const staged = await store.put('original', randomBytes(5000));
      const older = await keysOlderThan(store, new Date(Date.now() + 60_000));
      assert.ok(older.has(staged.key!), 'a blob written now is older than a minute from now');
      const notYet = await keysOlderThan(store, new Date(Date.now() - 3_600_000));
      assert.ok(!notYet.has(staged.key!), 'and not older than an hour ago');
      for await (const b of store.list(farFuture())) assert.notEqual(kindOfKey(b.key), null, `${b.key} is one of ours`);
    });

    it('streams a large blob out without reading it whole first', async () => {
      const bytes = randomBytes(24 * 1024 * 1024);
      const ref = await rowFor(db, store, await streamBlob(store, 'original', bytes, 1024 * 1024));
      const stream = await store.open(ref);
      let first: Buffer | undefined;
      let total = 0;
      await pipeline(
        stream,
        new Writable({
          highWaterMark: 16 * 1024,
          write(chunk: Buffer, _enc, done) {
            first ??= chunk;
            total += chunk.length;
            setImmediate(done);
          },
        }),
      );
      assert.equal(total, bytes.length);
      assert.ok(first && first.length < bytes.length, 'it arrived in pieces');
    });
  });
}

function farFuture(): Date {
  return new Date(Date.now() + 365 * 86400_000);
}

async function keysOlderThan(store: BlobStore, date: Date): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const b of store.list(date)) keys.add(b.key);
  return keys;
}
