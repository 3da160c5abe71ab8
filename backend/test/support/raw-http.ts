/**
 * HTTP requests written byte by byte on a socket, for the clients that
 * fetch() cannot be: one that stops mid-body, one that never terminates its
 * multipart body, one that sends less than its Content-Length, a slow one.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RawPart {
  name: string;
  data: Buffer;
  field?: string;
  type?: string;
}

export const BOUNDARY = '----imgfleet-test-boundary-7f3a';

export function partHead(part: RawPart): Buffer {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.field ?? 'images'}"; filename="${part.name}"\r\n` +
      `Content-Type: ${part.type ?? 'image/jpeg'}\r\n\r\n`,
  );
}

/** A whole, well-formed multipart body. */
export function multipartBody(parts: RawPart[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(partHead(p), p.data, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

export function requestHead(url: string, path: string, contentLength: number | undefined, headers: Record<string, string> = {}): Buffer {
  const u = new URL(url);
  const lines = [
    `POST ${path} HTTP/1.1`,
    `Host: ${u.host}`,
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}`,
    contentLength === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${contentLength}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
}

export interface RawConnection {
  socket: net.Socket;
  /** Everything the server answered, once the connection closed. */
  response: Promise<string>;
  write(data: Buffer): Promise<void>;
}

export async function connect(url: string): Promise<RawConnection> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
  });
  const response = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(received));
    socket.on('error', () => undefined);
  });
  return {
    socket,
    response,
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** The status code of a raw HTTP answer, or 0 when the server answered nothing. */
export function statusOf(response: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}

/** The JSON body of a raw HTTP answer (Content-Length framed). */
export function jsonOf<T>(response: string): T {
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  return JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as T;
}

/** Sends `data` in `chunks` pieces, `delayMs` apart: a client on a slow link. */
export async function trickle(conn: RawConnection, data: Buffer, chunks: number, delayMs: number): Promise<void> {
  const size = Math.ceil(data.length / chunks);
  for (let off = 0; off < data.length; off += size) {
    await conn.write(data.subarray(off, off + size));
    await sleep(delayMs);
  }
}

export { sleep };
