/**
 * HEIC test files, made at test time with Debian's heif-enc (libheif-examples,
 * installed by scripts/ensure-test-services.sh): nothing binary is committed.
 * heif-enc 1.15 keeps an input JPEG's EXIF (Orientation included) but writes
 * no rotation of its own, so `withRotation` adds the `irot` property phones
 * write, as a box edit: irot in ipco, its association with the primary item
 * in ipma, the enclosing boxes' sizes, and iloc's offsets into the mdat that
 * follows.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A HEIC of `input` (a JPEG or PNG file's bytes) at heif-enc's `quality`. */
export async function makeHeic(input: Buffer, quality = 60): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgfleet-heic-'));
  try {
    const isPng = input[0] === 0x89;
    const source = path.join(dir, isPng ? 'in.png' : 'in.jpg');
    const target = path.join(dir, 'out.heic');
    await fs.writeFile(source, input);
    await run('heif-enc', ['-q', String(quality), source, '-o', target]);
    return await fs.readFile(target);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

interface Box {
  type: string;
  start: number;
  size: number;
  /** Where the children (or a full box's version) begin. */
  body: number;
}

function boxesIn(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let pos = start; pos + 8 <= end;) {
    const size = buf.readUInt32BE(pos);
    if (size < 8) throw new Error(`box size ${size} at ${pos} is not handled`);
    out.push({ type: buf.toString('latin1', pos + 4, pos + 8), start: pos, size, body: pos + 8 });
    pos += size;
  }
  return out;
}

function child(buf: Buffer, parent: Box, type: string, fullBox = false): Box {
  const found = boxesIn(buf, parent.body + (fullBox ? 4 : 0), parent.start + parent.size).find((b) => b.type === type);
  if (!found) throw new Error(`no ${type} in ${parent.type}`);
  return found;
}

function readN(buf: Buffer, pos: number, bytes: number): number {
  return bytes === 0 ? 0 : bytes === 2 ? buf.readUInt16BE(pos) : bytes === 4 ? buf.readUInt32BE(pos) : Number(buf.readBigUInt64BE(pos));
}

function writeN(buf: Buffer, pos: number, bytes: number, value: number): void {
  if (bytes === 2) buf.writeUInt16BE(value, pos);
  else if (bytes === 4) buf.writeUInt32BE(value, pos);
  else if (bytes === 8) buf.writeBigUInt64BE(BigInt(value), pos);
}

/** Adds `delta` to every file offset iloc holds (construction method 0: offsets into the file). */
function shiftIloc(buf: Buffer, iloc: Box, delta: number): void {
  let p = iloc.body;
  const version = buf[p]!;
  p += 4;
  const sizes = buf.readUInt16BE(p);
  p += 2;
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 15;
  const baseSize = (sizes >> 4) & 15;
  const indexSize = version >= 1 ? sizes & 15 : 0;
  const items = version < 2 ? buf.readUInt16BE(p) : buf.readUInt32BE(p);
  p += version < 2 ? 2 : 4;
  for (let i = 0; i < items; i++) {
    p += version < 2 ? 2 : 4;
    let method = 0;
    if (version >= 1) {
      method = buf.readUInt16BE(p) & 15;
      p += 2;
    }
    p += 2; // data reference index
    const base = readN(buf, p, baseSize);
    if (method === 0 && baseSize > 0 && base > 0) writeN(buf, p, baseSize, base + delta);
    p += baseSize;
    const extents = buf.readUInt16BE(p);
    p += 2;
    for (let e = 0; e < extents; e++) {
      p += indexSize;
      if (method === 0 && !(baseSize > 0 && base > 0)) writeN(buf, p, offsetSize, readN(buf, p, offsetSize) + delta);
      p += offsetSize + lengthSize;
    }
  }
}

/**
 * The HEIC with an `irot` property on its primary image: `quarterTurns`
 * anticlockwise (3: a quarter turn clockwise, what EXIF Orientation 6 asks).
 */
export function withRotation(heic: Buffer, quarterTurns: 1 | 2 | 3): Buffer {
  const top = boxesIn(heic, 0, heic.length);
  const meta = top.find((b) => b.type === 'meta');
  const mdat = top.find((b) => b.type === 'mdat');
  if (!meta || !mdat || mdat.start < meta.start) throw new Error('expected meta before mdat');
  const pitm = child(heic, meta, 'pitm', true);
  const primary = heic[pitm.body] === 0 ? heic.readUInt16BE(pitm.body + 4) : heic.readUInt32BE(pitm.body + 4);
  const iprp = child(heic, meta, 'iprp', true);
  const ipco = child(heic, iprp, 'ipco');
  const ipma = child(heic, iprp, 'ipma');
  const propertyIndex = boxesIn(heic, ipco.body, ipco.start + ipco.size).length + 1;
  const irot = Buffer.from([0, 0, 0, 9, 0x69, 0x72, 0x6f, 0x74, quarterTurns]);

  // ipma: find the primary item's entry and append one association to it.
  const version = heic[ipma.body]!;
  const wide = (heic.readUInt32BE(ipma.body) & 1) === 1;
  let p = ipma.body + 4;
  const entries = heic.readUInt32BE(p);
  p += 4;
  let insertAt = -1;
  let countAt = -1;
  for (let i = 0; i < entries && insertAt < 0; i++) {
    const item = version < 1 ? heic.readUInt16BE(p) : heic.readUInt32BE(p);
    p += version < 1 ? 2 : 4;
    const count = heic[p]!;
    const end = p + 1 + count * (wide ? 2 : 1);
    if (item === primary) {
      countAt = p;
      insertAt = end;
    }
    p = end;
  }
  if (insertAt < 0) throw new Error('the primary item has no properties');
  const association = wide ? Buffer.from([0x80 | (propertyIndex >> 8), propertyIndex & 255]) : Buffer.from([0x80 | propertyIndex]);
  const delta = irot.length + association.length;

  const out = Buffer.concat([
    heic.subarray(0, ipco.start + ipco.size),
    irot,
    heic.subarray(ipco.start + ipco.size, insertAt),
    association,
    heic.subarray(insertAt),
  ]);
  const grow = (box: Box, by: number, shift = 0) => out.writeUInt32BE(box.size + by, box.start + shift);
  grow(meta, delta);
  grow(iprp, delta);
  grow(ipco, irot.length);
  grow(ipma, association.length, irot.length);
  out[countAt + irot.length] = heic[countAt]! + 1;
  shiftIloc(out, child(out, { ...meta, size: meta.size + delta }, 'iloc', true), delta);
  return out;
}
