/**
 * Hostile files made in code: PNGs whose decode needs far more memory or
 * time than their size suggests, and damaged JPEGs that a lenient decoder
 * turns into grey or garbled "results".
 */
import { createDeflate } from 'node:zlib';
import sharp from 'sharp';
import { makeImage } from './images.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (const byte of p) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return Buffer.concat([head, data, crc]);
}

/** Deflates `total` zero bytes without ever holding them: a few MiB of zeros fed repeatedly. */
async function deflateZeros(total: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const block = Buffer.alloc(8 * 1024 * 1024);
  for (let left = total; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    if (!deflate.write(piece)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(out);
}

const ADAM7 = [
  [0, 8, 0, 8],
  [4, 8, 0, 8],
  [0, 4, 4, 8],
  [2, 4, 0, 4],
  [0, 2, 2, 4],
  [1, 2, 0, 2],
  [0, 1, 1, 2],
] as const;

/**
 * An all-black PNG, built by hand so that even huge ones cost the test
 * little: RGBA (`channels` 4) or RGB (3), 8 or 16 bits, optionally Adam7
 * interlaced (which libpng/libvips must decode whole, not line by line).
 */
export async function blackPng(options: { width: number; height: number; bitDepth: 8 | 16; channels: 3 | 4; interlaced: boolean }): Promise<Buffer> {
  const { width, height, bitDepth, channels, interlaced } = options;
  const bytesPerPixel = (channels * bitDepth) / 8;
  let raw = 0;
  const passes = interlaced ? ADAM7 : ([[0, 1, 0, 1]] as const);
  for (const [x0, dx, y0, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) raw += ph * (1 + pw * bytesPerPixel);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = channels === 4 ? 6 : 2;
  ihdr[12] = interlaced ? 1 : 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', await deflateZeros(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The three damaged JPEGs of issue 9: each decodes "fine" in a lenient decoder. */
export async function damagedJpegs(): Promise<{ name: string; data: Buffer }[]> {
  const photo = await makeImage({ width: 1600, height: 1200, seed: 77, grain: 10 });
  // 1. Half a photo with an end-of-image marker appended: looks complete.
  const half = Buffer.concat([photo.subarray(0, Math.floor(photo.length / 2)), Buffer.from([0xff, 0xd9])]);
  // 2. Bits flipped throughout the entropy-coded data, as a bad card or cable does.
  const flipped = Buffer.from(photo);
  const sos = flipped.indexOf(Buffer.from([0xff, 0xda]));
  for (let i = sos + 200; i < flipped.length - 10; i += 997) {
    flipped[i] = flipped[i]! ^ 0x10;
  }
  // 3. A 268-byte file whose header claims 10000x10000.
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
    .jpeg({ quality: 50 })
    .toBuffer();
  const header = Buffer.from(tiny);
  const sof = header.indexOf(Buffer.from([0xff, 0xc0]));
  header.writeUInt16BE(10000, sof + 5);
  header.writeUInt16BE(10000, sof + 7);
  const claimed = header.subarray(0, Math.min(header.length, 268));
  return [
    { name: 'half-with-eoi.jpg', data: half },
    { name: 'bit-flipped.jpg', data: flipped },
    { name: 'claims-10000.jpg', data: claimed },
  ];
}
