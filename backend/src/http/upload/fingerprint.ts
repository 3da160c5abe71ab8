/**
 * What makes two requests "the same upload" for an Idempotency-Key: the
 * route, the batch, and each file's field, name and size with its first and
 * last 64 KiB. Multipart boundaries differ on every retry, so the raw body
 * cannot be compared; hashing whole photos would cost ~2 ms of CPU per
 * 3 MB file for a check that only guards against a client reusing a key
 * for a different upload.
 */
import { createHash, type Hash } from 'node:crypto';

const EDGE = 64 * 1024;

export class RequestFingerprint {
  private readonly hash: Hash = createHash('sha256');

  constructor(route: string, batchId: string | undefined, queryOptions: Readonly<Record<string, unknown>> = {}) {
    this.hash.update(`${route}\0${batchId ?? ''}\0${JSON.stringify(queryOptions)}\0`);
  }

  addPart(field: string, filename: string, bytes: Uint8Array | number, edges?: { head: Uint8Array; tail: Uint8Array }): void {
    const size = typeof bytes === 'number' ? bytes : bytes.length;
    this.hash.update(`${field}\0${filename}\0${size}\0`);
    if (typeof bytes !== 'number') {
      this.hash.update(bytes.subarray(0, EDGE));
      this.hash.update(bytes.subarray(Math.max(EDGE, bytes.length - EDGE)));
    } else if (edges) {
      this.hash.update(edges.head);
      this.hash.update(edges.tail);
    }
  }

  /** The `options` field's text, as sent (both requests send it before their files). */
  addOptions(raw: string): void {
    this.hash.update(`options\0${raw}\0`);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * The same edges as `addPart(bytes)`, gathered while a part streams by
 * without keeping it (a replayed request's files are never stored).
 */
export class StreamEdges {
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);
  size = 0;

  push(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.head.length < EDGE) this.head = Buffer.concat([this.head, chunk.subarray(0, EDGE - this.head.length)]);
    this.tail = Buffer.concat([this.tail, chunk]);
    if (this.tail.length > 2 * EDGE) this.tail = this.tail.subarray(this.tail.length - EDGE);
  }

  edges(): { head: Buffer; tail: Buffer } {
    // As bytes.subarray(max(EDGE, size - EDGE)) sees it.
    const from = Math.max(EDGE, this.size - EDGE);
    const tailStart = this.size - this.tail.length;
    return { head: this.head, tail: this.tail.subarray(Math.max(0, from - tailStart)) };
  }
}
