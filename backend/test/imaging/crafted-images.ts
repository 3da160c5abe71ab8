/**
 * Hostile and damaged inputs, made in code (nothing binary is committed):
 * PNGs whose decode is far larger than their file, and JPEGs damaged the
 * ways real copies and uploads damage them. Exported for the lead's
 * admission and end-to-end tests too.
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { makeImage } from '../support/images.js';

export interface ZeroPngOptions {
  width: number;
  height: number;
  bitDepth: 8 | 16;
  /** 0 grey, 2 RGB, 6 RGBA. */
  colourType: 0 | 2 | 6;
  /** Adam7 interlacing: libvips must decode the whole image before the first row. */
  interlaced: boolean;
}

const SAMPLES: Record<ZeroPngOptions['colourType'], number> = { 0: 1, 2: 3, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of the filtered scanlines (one filter byte a row), per Adam7 pass when interlaced. */
function rawLength(o: ZeroPngOptions): number {
  const bytesPerPixel = (SAMPLES[o.colourType] * o.bitDepth) / 8;
  const passes = o.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((o.width - x0) / dx);
    const h = Math.ceil((o.height - y0) / dy);
    if (w > 0 && h > 0) total += h * (1 + w * bytesPerPixel);
  }
  return total;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Streams `length` zero bytes through deflate: an 800 MB image never sits in memory. */
async function deflateZeros(length: number): Promise<Buffer> {
  const block = Buffer.alloc(4 * 1024 * 1024);
  const source = Readable.from(
    (function* () {
      for (let left = length; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
    })(),
  );
  const parts: Buffer[] = [];
  for await (const part of source.pipe(zlib.createDeflate({ level: 9 }))) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** A valid PNG of all-zero (black, transparent) pixels: tiny file, decode as large as asked. */
export async function zeroPng(o: ZeroPngOptions): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.width, 0);
  ihdr.writeUInt32BE(o.height, 4);
  ihdr[8] = o.bitDepth;
  ihdr[9] = o.colourType;
  ihdr[12] = o.interlaced ? 1 : 0;
  const idat = await deflateZeros(rawLength(o));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The memory bomb: 779 KB, 800 MB decoded. */
export function interlaced16BitRgbaPng(): Promise<Buffer> {
  return zeroPng({ width: 10000, height: 10000, bitDepth: 16, colourType: 6, interlaced: true });
}

/** 1 × 10,000,000: ten megapixels in ten million rows, seconds of a thread to decode. */
export function tallPng(): Promise<Buffer> {
  return zeroPng({ width: 1, height: 10_000_000, bitDepth: 8, colourType: 0, interlaced: false });
}

const EOI = Buffer.from([0xff, 0xd9]);

/** A photo whose copy stopped half-way, "repaired" with an end-of-image marker. */
export async function halfJpegWithEnd(): Promise<Buffer> {
  const whole = await makeImage({ width: 1600, height: 1200, quality: 90, grain: 8, seed: 11 });
  return Buffer.concat([whole.subarray(0, Math.floor(whole.length / 2)), EOI]);
}

/** Start of the entropy-coded data: after the SOS marker's header. */
function scanStart(jpeg: Buffer): number {
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  if (sos < 0) throw new Error('no SOS marker');
  return sos + 2 + jpeg.readUInt16BE(sos + 2);
}

/**
 * A photo with one bit flipped in every KiB of its scan data, as failing
 * storage or a bad transfer leaves it. Progressive, as phones and web
 * exports write them: its scans give the decoder something to notice. (A
 * flipped bit in a baseline JPEG without restart markers is undetectable by
 * any decoder: JPEG has no checksum and libjpeg resynchronises silently.)
 */
export async function bitFlippedJpeg(): Promise<Buffer> {
  const photo = await makeImage({ width: 1600, height: 1200, quality: 95, grain: 8, seed: 12 });
  const bytes = Buffer.from(await sharp(photo).jpeg({ quality: 90, progressive: true }).toBuffer());
  for (let i = scanStart(bytes) + 100, bit = 0; i < bytes.length - 16; i += 1024, bit = (bit + 1) % 8) {
    const flipped = bytes[i]! ^ (1 << bit);
    // Never forge a marker (0xFF) or break a stuffed 0xFF00: only the data bits are damaged.
    if (bytes[i] !== 0xff && bytes[i - 1] !== 0xff && flipped !== 0xff) bytes[i] = flipped;
  }
  return bytes;
}

/** 268 bytes whose frame header claims 10000x10000: the pixels are simply not there. */
export async function tinyJpegClaimingHuge(): Promise<Buffer> {
  const small = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3080c0' } })
    .jpeg({ quality: 50 })
    .toBuffer();
  const bytes = Buffer.from(small);
  const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  if (sof < 0) throw new Error('no SOF0 marker');
  bytes.writeUInt16BE(10000, sof + 5);
  bytes.writeUInt16BE(10000, sof + 7);
  const size = 268;
  const start = scanStart(bytes);
  if (start + 4 > size) throw new Error(`the headers alone take ${start} bytes`);
  // Keep the headers and as much scan data as fits, then the end marker.
  const body = bytes.subarray(0, Math.min(bytes.length - 2, size - 2));
  return Buffer.concat([body, Buffer.alloc(size - 2 - body.length, 0), EOI]);
}
