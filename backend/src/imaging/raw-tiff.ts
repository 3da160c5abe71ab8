/**
 * A baseline, uncompressed TIFF around 8-bit interleaved pixels: how a
 * decoded HEIC reaches libvips. Unlike sharp's raw input, a TIFF carries
 * the ICC profile (phones shoot Display P3), so libvips converts the colour
 * to sRGB exactly as it does for any other input; the pixels are written
 * once, straight into the buffer (see heif-decode.ts), so this costs no
 * extra copy. Strips of 64 rows let libvips read it a strip at a time.
 */

export interface RawTiffLayout {
  /** Header, directory and profile, then the pixels (width × height × channels) from `pixelOffset`. */
  buffer: Buffer;
  pixelOffset: number;
}

const ROWS_PER_STRIP = 64;

const SHORT = 3;
const LONG = 4;
const UNDEFINED = 7;

/** One directory entry: a single SHORT or LONG value inline, or `data` (count values of `type`) stored after the directory. */
type Entry = { tag: number; type: number; value: number } | { tag: number; type: number; count: number; data: Buffer };

function longs(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  return b;
}

function shorts(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
}

function entries(
  width: number,
  height: number,
  channels: 3 | 4,
  stripBytes: number[],
  stripOffsets: number[],
  icc: Uint8Array | undefined,
  premultiplied: boolean,
): Entry[] {
  const list: Entry[] = [
    { tag: 256, type: LONG, value: width },
    { tag: 257, type: LONG, value: height },
    { tag: 258, type: SHORT, count: channels, data: shorts(Array<number>(channels).fill(8)) },
    { tag: 259, type: SHORT, value: 1 }, // no compression
    { tag: 262, type: SHORT, value: 2 }, // RGB
    { tag: 273, type: LONG, count: stripOffsets.length, data: longs(stripOffsets) },
    { tag: 277, type: SHORT, value: channels },
    { tag: 278, type: LONG, value: ROWS_PER_STRIP },
    { tag: 279, type: LONG, count: stripBytes.length, data: longs(stripBytes) },
    { tag: 284, type: SHORT, value: 1 }, // interleaved
  ];
  // ExtraSamples: 1 associated (premultiplied) alpha, 2 unassociated.
  if (channels === 4) list.push({ tag: 338, type: SHORT, value: premultiplied ? 1 : 2 });
  if (icc && icc.length > 0) list.push({ tag: 34675, type: UNDEFINED, count: icc.length, data: Buffer.from(icc.buffer, icc.byteOffset, icc.byteLength) });
  return list;
}

/** Writes the header and directory into `buffer` (its first `pixelOffset` bytes). */
function writeDirectory(buffer: Buffer, list: Entry[]): void {
  buffer.write('II', 0, 'latin1');
  buffer.writeUInt16LE(42, 2);
  buffer.writeUInt32LE(8, 4);
  buffer.writeUInt16LE(list.length, 8);
  let after = 8 + 2 + list.length * 12 + 4;
  list.forEach((entry, i) => {
    const pos = 10 + i * 12;
    buffer.writeUInt16LE(entry.tag, pos);
    buffer.writeUInt16LE(entry.type, pos + 2);
    if ('value' in entry) {
      buffer.writeUInt32LE(1, pos + 4);
      if (entry.type === SHORT) buffer.writeUInt16LE(entry.value, pos + 8);
      else buffer.writeUInt32LE(entry.value, pos + 8);
      return;
    }
    buffer.writeUInt32LE(entry.count, pos + 4);
    if (entry.data.length <= 4) {
      entry.data.copy(buffer, pos + 8);
      return;
    }
    buffer.writeUInt32LE(after, pos + 8);
    entry.data.copy(buffer, after);
    after += entry.data.length + (entry.data.length % 2);
  });
  buffer.writeUInt32LE(0, 10 + list.length * 12);
}

function headerBytes(list: Entry[]): number {
  let bytes = 8 + 2 + list.length * 12 + 4;
  for (const entry of list) if ('data' in entry && entry.data.length > 4) bytes += entry.data.length + (entry.data.length % 2);
  return bytes;
}

/**
 * The buffer for a `width` × `height` image of `channels` (3: RGB, 4: RGB
 * plus alpha, `premultiplied` or not) with the pixels left to fill.
 */
export function rawTiffLayout(width: number, height: number, channels: 3 | 4, icc?: Uint8Array, premultiplied = false): RawTiffLayout {
  const rowBytes = width * channels;
  const strips = Math.ceil(height / ROWS_PER_STRIP);
  const stripBytes = Array.from({ length: strips }, (_, i) => Math.min(ROWS_PER_STRIP, height - i * ROWS_PER_STRIP) * rowBytes);
  // The directory's size does not depend on the offsets' values: measure it with placeholders, then write it for real.
  const pixelOffset = headerBytes(entries(width, height, channels, stripBytes, stripBytes, icc, premultiplied));
  const stripOffsets = stripBytes.map((_, i) => pixelOffset + i * ROWS_PER_STRIP * rowBytes);
  const buffer = Buffer.allocUnsafe(pixelOffset + rowBytes * height);
  buffer.fill(0, 0, pixelOffset);
  writeDirectory(buffer, entries(width, height, channels, stripBytes, stripOffsets, icc, premultiplied));
  return { buffer, pixelOffset };
}
