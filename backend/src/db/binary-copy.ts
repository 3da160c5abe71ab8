/**
 * Reads one bytea value as raw bytes. node-postgres decodes every result
 * value as text, so a 4 MB image would arrive as 8 MB of hex (or 5.4 MB of
 * base64) and cost 30–40 ms of event-loop time to turn back into bytes.
 * `COPY … TO STDOUT (FORMAT binary)` streams the bytes as they are.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** Parses a binary COPY stream of one row with one column. */
export function parseSingleValueCopy(data: Buffer): Buffer | null | undefined {
  if (data.length < SIGNATURE.length + 8 || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
    throw new Error('not a binary COPY stream');
  }
  let offset = SIGNATURE.length + 4; // flags
  offset += 4 + data.readUInt32BE(offset); // header extension
  const fields = data.readInt16BE(offset);
  if (fields === -1) return undefined; // trailer right away: no row
  offset += 2;
  const length = data.readInt32BE(offset);
  offset += 4;
  if (length === -1) return null;
  return data.subarray(offset, offset + length);
}

/**
 * `SELECT <column> FROM <table> WHERE id = <id>` as raw bytes: undefined if
 * no such row, null if the value is NULL. COPY takes no parameters, so the id
 * must be a safe integer and the names constants of ours.
 */
export async function readBytea(db: pg.Pool, table: string, column: string, id: number): Promise<Buffer | null | undefined> {
  if (!Number.isSafeInteger(id)) throw new Error(`invalid id ${id}`);
  const client = await db.connect();
  try {
    const stream = client.query(copyTo(`COPY (SELECT ${column} FROM ${table} WHERE id = ${id}) TO STDOUT (FORMAT binary)`));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return parseSingleValueCopy(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  } finally {
    client.release();
  }
}
