/**
 * Frees a large buffer's memory now instead of at the next garbage
 * collection. V8 counts ArrayBuffer memory as external and, as dead photos'
 * bytes pile up, answers with full mark-compacts: measured on the upload
 * path, about one per photo, whose marking cost as much CPU as a third of
 * the resize. Detaching (ArrayBuffer.prototype.transfer, Node ≥ 21) hands
 * the memory back at once and needs no collection.
 *
 * Only for a buffer that owns its whole ArrayBuffer and that nothing else
 * still reads: afterwards it is empty. On Node 20, and for views into shared
 * memory, it does nothing and the collector frees it as before.
 */
type Detachable = ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer; detached?: boolean };

export const canFreeBuffers = typeof (ArrayBuffer.prototype as Detachable).transfer === 'function';

export function freeBuffer(bytes: Uint8Array | ArrayBuffer): void {
  if (!canFreeBuffers) return;
  const buffer = bytes instanceof ArrayBuffer ? bytes : bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || (buffer as Detachable).detached) return;
  if (!(bytes instanceof ArrayBuffer) && (bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength)) return;
  (buffer as Detachable).transfer!(0);
}
