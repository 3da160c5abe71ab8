/**
 * The size and orientation of the inputs a browser cannot decode (HEIC,
 * TIFF), read from their first bytes, so the web page can still check them
 * against the limits and promise the result's size; the server decodes
 * them. HEIF: the primary item's `ispe` and `irot` properties (libheif
 * applies the rotation; the size told is the displayed one). TIFF: the
 * first directory's width, length and Orientation tag.
 */

export interface HeaderSize {
  /** As displayed (HEIF: rotation applied); TIFF: as stored, see orientation. */
  width: number;
  height: number;
  /** EXIF-style orientation 1–8 (HEIF: always 1, its rotation already in the size). */
  orientation: number;
}

interface Box {
  type: string;
  start: number;
  end: number;
}

function boxes(view: DataView, start: number, end: number): Box[] {
  const out: Box[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    const size = view.getUint32(pos);
    if (size < 8 || pos + size > end) break;
    const type = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5), view.getUint8(pos + 6), view.getUint8(pos + 7));
    out.push({ type, start: pos, end: pos + size });
    pos += size;
  }
  return out;
}

function find(view: DataView, parent: Box | null, type: string, skip: number): Box | undefined {
  const start = parent ? parent.start + 8 + skip : 0;
  return boxes(view, start, parent ? parent.end : view.byteLength).find((b) => b.type === type);
}

/** The primary item's property indices (1-based, into ipco) from ipma. */
function associations(view: DataView, ipma: Box, item: number): number[] {
  const version = view.getUint8(ipma.start + 8);
  const wide = (view.getUint32(ipma.start + 8) & 1) === 1;
  let p = ipma.start + 12;
  const entries = view.getUint32(p);
  p += 4;
  for (let i = 0; i < entries && p < ipma.end; i++) {
    const id = version < 1 ? view.getUint16(p) : view.getUint32(p);
    p += version < 1 ? 2 : 4;
    const count = view.getUint8(p++);
    const found: number[] = [];
    for (let a = 0; a < count; a++) {
      found.push(wide ? view.getUint16(p) & 0x7fff : view.getUint8(p) & 0x7f);
      p += wide ? 2 : 1;
    }
    if (id === item) return found;
  }
  return [];
}

/** null when the bytes do not reach the properties (a very large header) or are not what they claim. */
export function readHeifHeader(bytes: Uint8Array): HeaderSize | null {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const meta = find(view, null, 'meta', 0);
    if (!meta) return null;
    const pitm = find(view, meta, 'pitm', 4);
    const iprp = find(view, meta, 'iprp', 4);
    if (!pitm || !iprp) return null;
    const primary = view.getUint8(pitm.start + 8) === 0 ? view.getUint16(pitm.start + 12) : view.getUint32(pitm.start + 12);
    const ipco = find(view, iprp, 'ipco', 0);
    const ipma = find(view, iprp, 'ipma', 0);
    if (!ipco || !ipma) return null;
    const properties = boxes(view, ipco.start + 8, ipco.end);
    let size: { width: number; height: number } | null = null;
    let quarterTurns = 0;
    for (const index of associations(view, ipma, primary)) {
      const property = properties[index - 1];
      if (property?.type === 'ispe') size = { width: view.getUint32(property.start + 12), height: view.getUint32(property.start + 16) };
      if (property?.type === 'irot') quarterTurns = view.getUint8(property.start + 8) & 3;
    }
    if (!size || size.width === 0 || size.height === 0) return null;
    return quarterTurns % 2 === 1 ? { width: size.height, height: size.width, orientation: 1 } : { ...size, orientation: 1 };
  } catch {
    // A box that claims more than is there: judged by the server instead.
    return null;
  }
}

/** Where a TIFF's first directory is (libvips writes it after the pixels, so often beyond the first bytes read). */
export function tiffDirectoryOffset(head: Uint8Array): { offset: number; little: boolean } | null {
  if (head.length < 8) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const little = view.getUint16(0) === 0x4949;
  // BigTIFF (43) is left to the server.
  return view.getUint16(2, little) === 42 ? { offset: view.getUint32(4, little), little } : null;
}

/** The size and orientation from a TIFF directory; `bytes` start at the directory. */
export function readTiffDirectory(bytes: Uint8Array, little: boolean): HeaderSize | null {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint16(0, little);
    const tags = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const entry = 2 + i * 12;
      const type = view.getUint16(entry + 2, little);
      tags.set(view.getUint16(entry, little), type === 3 ? view.getUint16(entry + 8, little) : view.getUint32(entry + 8, little));
    }
    const width = tags.get(256) ?? 0;
    const height = tags.get(257) ?? 0;
    const orientation = tags.get(274) ?? 1;
    return width > 0 && height > 0 ? { width, height, orientation: orientation >= 1 && orientation <= 8 ? orientation : 1 } : null;
  } catch {
    return null;
  }
}
