/** Raw bytea reads through binary COPY, whatever the chunking of the stream. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { readBytea, SingleValueCopyParser, streamBytea } from '../../src/db/binary-copy.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('binary COPY reads', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    await pool.query('CREATE TABLE blobs (id bigint PRIMARY KEY, data bytea)');
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('returns the exact bytes, in a buffer of their own; null for NULL; undefined for no row', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await pool.query('INSERT INTO blobs VALUES (1, $1), (2, NULL), (3, $2)', [big, Buffer.alloc(0)]);
    const got = await readBytea(pool, 'blobs', 'data', 1);
    assert.ok(got);
    assert.ok(got.equals(big));
    assert.equal(got.byteOffset, 0);
    assert.equal(got.buffer.byteLength, big.length, 'owns exactly its memory, so it can be transferred without a copy');
    assert.equal(await readBytea(pool, 'blobs', 'data', 2), null);
    assert.equal((await readBytea(pool, 'blobs', 'data', 3))?.length, 0);
    assert.equal(await readBytea(pool, 'blobs', 'data', 999), undefined);
  });

  it('parses a stream cut at every possible place, down to single bytes', async () => {
    const value = randomBytes(300);
    const client = await pool.connect();
    let raw: Buffer;
    try {
      await client.query('INSERT INTO blobs VALUES (4, $1)', [value]);
      // The server's own bytes for this value, to replay in pieces.
      const { to } = await import('pg-copy-streams');
      const chunks: Buffer[] = [];
      for await (const c of client.query(to('COPY (SELECT data FROM blobs WHERE id = 4) TO STDOUT (FORMAT binary)'))) chunks.push(c as Buffer);
      raw = Buffer.concat(chunks);
    } finally {
      client.release();
    }
    for (const size of [1, 2, 3, 7, 19, 64, raw.length]) {
      const parser = new SingleValueCopyParser();
      for (let i = 0; i < raw.length; i += size) parser.push(raw.subarray(i, i + size));
      assert.ok(parser.result()?.equals(value), `chunks of ${size}`);
    }
    const cut = new SingleValueCopyParser();
    cut.push(raw.subarray(0, raw.length - 100));
    assert.throws(() => cut.result(), /ended inside the value/);
    assert.throws(() => new SingleValueCopyParser().push(Buffer.from('definitely not a COPY stream')), /not a binary COPY stream/);
  });

  it('hands the connection back for the next query when there is no value, instead of tearing it down', async () => {
    // A download of a swept original asks for a value that is not there: the
    // connection must stay in the pool. Destroying it cost a reconnect (a
    // server process) per lookup, and raced the COPY's last messages: a
    // "commandComplete" arriving after the release was an error on a pool.
    await pool.query('INSERT INTO blobs VALUES (5, NULL) ON CONFLICT (id) DO NOTHING');
    let removed = 0;
    const countRemoved = () => removed++;
    pool.on('remove', countRemoved);
    try {
      for (let i = 0; i < 20; i++) {
        const [nullValue, noRow] = await Promise.all([streamBytea(pool, 'blobs', 'data', 5), streamBytea(pool, 'blobs', 'data', 998)]);
        assert.equal(nullValue, null);
        assert.equal(noRow, null);
      }
      const stream = await streamBytea(pool, 'blobs', 'data', 1);
      assert.ok(stream, 'the pool still answers');
      stream.resume();
      await finished(stream);
    } finally {
      pool.off('remove', countRemoved);
    }
    assert.equal(removed, 0, 'no connection was dropped');
  });
});
