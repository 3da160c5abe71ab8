/**
 * Hostile files made in code: PNGs whose decode needs far more memory or
 * time than their size suggests, and damaged JPEGs that a lenient decoder
 * turns into grey or garbled "results".
 */
import sharp from 'sharp';
import { zeroPng } from '../imaging/crafted-images.js';
import { makeImage } from './images.js';

/**
 * An all-black PNG, built by hand so that even huge ones cost the test
 * little: RGBA (`channels` 4) or RGB (3), 8 or 16 bits, optionally Adam7
 * interlaced (which libpng/libvips must decode whole, not line by line).
 * The damaged-input tests' zeroPng makes it (colour type 6 or 2).
 */
export function blackPng(options: { width: number; height: number; bitDepth: 8 | 16; channels: 3 | 4; interlaced: boolean }): Promise<Buffer> {
  const { channels, ...rest } = options;
  return zeroPng({ ...rest, colourType: channels === 4 ? 6 : 2 });
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
