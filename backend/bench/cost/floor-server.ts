#!/usr/bin/env node
/**
 * The floor under issue 19's CPU goal: the least a server can do for the
 * earlier API's photo and still be a server that keeps what it was given.
 * It receives the multipart upload (busboy), writes the original durably
 * (a temporary file, fsync, rename, the folder fsynced: as the filesystem
 * store does), reads it back, resizes it with the product's renderImage on
 * this thread's sharp, writes the result the same durable way, and answers
 * the earlier API's status polls from memory. No database, no queue, no
 * worker threads, no checks: what it costs beyond the bare sharp loop is
 * what any such server pays on this machine, before imgfleet's own work.
 *
 * Run by floor.ts: `node floor-server.js <folder>`; prints its port.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import sharp from 'sharp';
import { syncDir } from '../../src/blobs/fs-store.js';
import { DEFAULT_RULES, resizeImage } from '../../src/imaging/index.js';

sharp.cache(false);

const dir = process.argv[2];
if (!dir) throw new Error('usage: floor-server <folder>');
const tmp = path.join(dir, '.tmp');
await mkdir(tmp, { recursive: true });

/** Temporary file, fsync, rename, folder fsync: a file that is there once this resolves. */
async function publish(temp: string, name: string): Promise<string> {
  const final = path.join(dir!, name);
  await rename(temp, final);
  await syncDir(dir!);
  return final;
}

const statuses = new Map<number, 'processing' | 'completed' | 'failed'>();
let nextId = 1;

async function resize(id: number, original: string): Promise<void> {
  try {
    const out = await resizeImage(await readFile(original), DEFAULT_RULES);
    const temp = path.join(tmp, `${randomUUID()}.part`);
    await writeFile(temp, out.data, { flush: true });
    await publish(temp, `result-${id}.jpg`);
    statuses.set(id, 'completed');
  } catch {
    statuses.set(id, 'failed');
  }
}

function receive(req: http.IncomingMessage, res: http.ServerResponse): void {
  const parser = busboy({ headers: req.headers });
  const stored: Promise<number>[] = [];
  parser.on('file', (_field, stream) => {
    const id = nextId++;
    statuses.set(id, 'processing');
    const temp = path.join(tmp, `${randomUUID()}.part`);
    stored.push(
      pipeline(stream, createWriteStream(temp, { flush: true }))
        .then(() => publish(temp, `original-${id}`))
        .then((file) => {
          void resize(id, file);
          return id;
        }),
    );
  });
  parser.on('close', () => {
    Promise.all(stored).then(
      (ids) => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ images: ids.map((id) => ({ id, status: 'processing' })) }));
      },
      (err: unknown) => {
        res.writeHead(500).end(String(err));
      },
    );
  });
  req.pipe(parser);
}

const server = http.createServer((req, res) => {
  const status = /^\/status\/(\d+)\/json$/.exec(req.url ?? '');
  if (req.method === 'POST' && req.url === '/upload') {
    receive(req, res);
  } else if (req.method === 'GET' && status) {
    const value = statuses.get(Number(status[1]));
    res.writeHead(value ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value ? { status: value } : { error: 'not found' }));
  } else {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
