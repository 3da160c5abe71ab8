/**
 * Whether a photo's bytes look whole: the formats that say where they end
 * are checked (a JPEG's EOI marker, a PNG's IEND chunk, a GIF's trailer, a
 * WebP's RIFF length). A copy still under way, paused long enough to look
 * settled, is thus not taken half-written. TIFF and HEIF say no such thing
 * cheaply: for them the settled size is all there is.
 */
import { promises as fs } from 'node:fs';
import { detectFormat } from '@imgfleet/backend/imaging/detect';

const TAIL = 64;
const PNG_END = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

export async function looksComplete(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(12);
    await handle.read(head, 0, 12, 0);
    const tail = Buffer.alloc(Math.min(TAIL, size));
    await handle.read(tail, 0, tail.length, size - tail.length);
    switch (detectFormat(head)) {
      case 'jpeg': {
        // Some cameras pad after the end marker: look past trailing zeros.
        let end = tail.length;
        while (end > 0 && tail[end - 1] === 0) end--;
        return end >= 2 && tail[end - 2] === 0xff && tail[end - 1] === 0xd9;
      }
      case 'png':
        return tail.subarray(tail.length - 8).equals(PNG_END);
      case 'gif':
        return tail[tail.length - 1] === 0x3b;
      case 'webp':
        return head.readUInt32LE(4) + 8 <= size;
      default:
        return true;
    }
  } finally {
    await handle.close();
  }
}
