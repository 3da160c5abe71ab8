/**
 * Frees a large buffer's memory now instead of at the next garbage
 * collection. V8 counts ArrayBuffer memory as external and, as dead photos'
 * bytes pile up, answers with full mark-compacts: measured on the upload
 * path, about one per photo, whose marking cost as much CPU as a third of
 * the resize. Detaching (ArrayBuffer.prototype.transfer) hands the memory
 * back at once and needs no collection.
 *
 * Only for a buffer that owns its whole ArrayBuffer and that nothing else
 * still reads: afterwards it is empty. For a slice of a larger buffer and
 * for views into shared memory it does nothing and the collector frees it
 * as before.
 */

/** A view of a whole ArrayBuffer of its own: not a slice of a larger one (Node's pool, socket reads), not shared memory. */
export function ownsWholeArrayBuffer(bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

export function freeBuffer(bytes: Uint8Array | ArrayBuffer): void {
  const buffer = bytes instanceof ArrayBuffer ? bytes : ownsWholeArrayBuffer(bytes) ? bytes.buffer : undefined;
  if (buffer && !buffer.detached) buffer.transfer(0);
}
