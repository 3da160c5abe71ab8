/**
 * Reads one bytea value as raw bytes. node-postgres decodes every result
 * value as text, so a 4 MB image would arrive as 8 MB of hex (or 5.4 MB of
 * base64) and cost 30–40 ms of event-loop time to turn back into bytes.
 * `COPY … TO STDOUT (FORMAT binary)` streams the bytes as they are.
 */
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { withClient } from './pool.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Parses a binary COPY stream of one row with one column, arriving in
 * chunks. The value is copied once, into a buffer of its own (exactly its
 * size, not a view into a larger one), so it can be transferred to a worker
 * thread without another copy.
 */
export class SingleValueCopyParser {
  private header: Buffer = Buffer.alloc(0);
  private value: Buffer | null | undefined;
  private filled = 0;
  private done = false;

  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.value) {
      this.fill(chunk);
      return;
    }
    this.header = this.header.length ? Buffer.concat([this.header, chunk]) : chunk;
    const fixed = SIGNATURE.length + 8;
    if (this.header.length < fixed) return;
    if (!this.header.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
    const start = fixed + this.header.readUInt32BE(SIGNATURE.length + 4); // header extension
    if (this.header.length < start + 2) return;
    if (this.header.readInt16BE(start) === -1) {
      this.done = true; // trailer right away: no row
      return;
    }
    if (this.header.length < start + 6) return;
    const length = this.header.readInt32BE(start + 2);
    if (length === -1) {
      this.value = null;
      this.done = true;
      return;
    }
    this.value = Buffer.allocUnsafeSlow(length);
    const rest = this.header.subarray(start + 6);
    this.header = Buffer.alloc(0);
    this.fill(rest);
  }

  private fill(chunk: Buffer): void {
    const value = this.value!;
    const n = Math.min(chunk.length, value.length - this.filled);
    chunk.copy(value, this.filled, 0, n);
    this.filled += n;
    if (this.filled === value.length) this.done = true;
  }

  /** undefined: no row; null: SQL NULL. */
  result(): Buffer | null | undefined {
    if (this.value && this.filled !== this.value.length) throw new Error('binary COPY stream ended inside the value');
    return this.value;
  }
}

/**
 * `SELECT <column> FROM <table> WHERE id = <id>` as raw bytes: undefined if
 * no such row, null if the value is NULL. COPY takes no parameters, so the id
 * must be a safe integer and the names constants of ours.
 */
export async function readBytea(db: pg.Pool, table: string, column: string, id: number): Promise<Buffer | null | undefined> {
  if (!Number.isSafeInteger(id)) throw new Error(`invalid id ${id}`);
  return withClient(db, async (client) => {
    const stream = client.query(copyTo(`COPY (SELECT ${column} FROM ${table} WHERE id = ${id}) TO STDOUT (FORMAT binary)`));
    const parser = new SingleValueCopyParser();
    for await (const chunk of stream) parser.push(chunk as Buffer);
    return parser.result();
  });
}

/**
 * The same value as a stream, passed on as it arrives instead of gathered
 * whole (a download of a 50 MB original must not hold 50 MB), trimmed to
 * `range` (inclusive, as HTTP says it). `length` resolves once the value's
 * header is read: its size, or null when there is no row or the value is NULL.
 */
class ValueStream extends Transform {
  private header: Buffer = Buffer.alloc(0);
  private remaining = -1;
  private offset = 0;
  private readonly outcome = Promise.withResolvers<number | null>();
  private readonly settle = this.outcome.resolve;
  readonly length = this.outcome.promise;

  constructor(private readonly range: { start: number; end?: number } | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      if (this.remaining < 0) chunk = this.readHeader(chunk);
      if (this.remaining > 0 && chunk.length > 0) this.pass(chunk.subarray(0, this.remaining));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: (err?: Error | null) => void): void {
    this.settle(null);
    done(this.remaining > 0 ? new Error('binary COPY stream ended inside the value') : null);
  }

  /** Consumes the COPY header and the value's length; returns what follows them. */
  private readHeader(chunk: Buffer): Buffer {
    this.header = this.header.length ? Buffer.concat([this.header, chunk]) : chunk;
    const fixed = SIGNATURE.length + 8;
    if (this.header.length < fixed) return Buffer.alloc(0);
    if (!this.header.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
    const start = fixed + this.header.readUInt32BE(SIGNATURE.length + 4);
    if (this.header.length < start + 2) return Buffer.alloc(0);
    if (this.header.readInt16BE(start) === -1) return this.noValue();
    if (this.header.length < start + 6) return Buffer.alloc(0);
    const length = this.header.readInt32BE(start + 2);
    if (length === -1) return this.noValue();
    this.remaining = length;
    this.settle(length);
    const rest = this.header.subarray(start + 6);
    this.header = Buffer.alloc(0);
    return rest;
  }

  private noValue(): Buffer {
    this.remaining = 0;
    this.settle(null);
    return Buffer.alloc(0);
  }

  private pass(bytes: Buffer): void {
    const from = this.offset;
    this.offset += bytes.length;
    this.remaining -= bytes.length;
    const first = Math.max(0, (this.range?.start ?? 0) - from);
    const last = this.range?.end === undefined ? bytes.length : Math.min(bytes.length, this.range.end + 1 - from);
    if (last > first) this.push(bytes.subarray(first, last));
  }
}

/**
 * `SELECT <column> FROM <table> WHERE id = <id>` as a stream of its bytes, or
 * null when there is no such row or the value is NULL. The connection is
 * held until the stream ends or is destroyed, then returned to the pool (or
 * dropped after an error: an aborted COPY leaves it in an unknown state).
 */
export async function streamBytea(db: pg.Pool, table: string, column: string, id: number, range?: { start: number; end?: number }): Promise<Readable | null> {
  if (!Number.isSafeInteger(id)) throw new Error(`invalid id ${id}`);
  const client = await db.connect();
  let released = false;
  const release = (err?: Error | boolean) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  const copy = client.query(copyTo(`COPY (SELECT ${column} FROM ${table} WHERE id = ${id}) TO STDOUT (FORMAT binary)`));
  const value = new ValueStream(range);
  copy.on('error', (err) => {
    release(err);
    value.destroy(err);
  });
  value.on('close', () => release(value.readableEnded ? undefined : true));
  copy.pipe(value);
  const length = await Promise.race([value.length, new Promise<never>((_, reject) => value.once('error', reject))]);
  if (length === null) {
    // Nothing but the trailer follows: read it to the end, so the connection
    // goes back to the pool whole. Destroying the stream here would tear the
    // connection down (a reconnect per missing value) while the COPY's last
    // messages were still arriving.
    value.resume();
    await finished(value);
    return null;
  }
  return value;
}
