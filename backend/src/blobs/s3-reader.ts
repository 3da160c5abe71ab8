/**
 * A download from the store as a stream that never hangs and never ends
 * quietly short. The SDK bounds the wait for the answer's headers; after
 * that its body is a bare socket: a gateway that freezes mid-object would
 * leave the reader waiting for ever, and one that dies must make the
 * reader fail, not end (a truncated photo must not look whole).
 *
 * The stall timer runs only while the reader is asking for bytes: a slow
 * reader downstream (a client on a slow link, with backpressure all the
 * way) pauses the body, and a paused body is not a stalled store.
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream';

export function stallError(idleMs: number): Error {
  return Object.assign(new Error(`no bytes came for ${idleMs} ms`), { name: 'TimeoutError' });
}

/**
 * `body` as a stream of its own that fails with `failure(cause, received)`
 * when the body fails, closes early, or sends nothing for `idleMs` while
 * asked for more.
 */
export function watchedBody(body: Readable, idleMs: number, failure: (cause: unknown, received: number) => Error): Readable {
  let timer: NodeJS.Timeout | undefined;
  let received = 0;
  const disarm = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  const out = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      timer ??= setTimeout(() => out.destroy(failure(stallError(idleMs), received)), idleMs);
      body.resume();
    },
    destroy(err, callback) {
      disarm();
      body.destroy();
      callback(err);
    },
  });
  body.on('data', (chunk: Buffer) => {
    disarm();
    received += chunk.length;
    if (!out.push(chunk)) body.pause();
  });
  // finished() reports a connection closed before the body's end as an
  // error (ERR_STREAM_PREMATURE_CLOSE, or the parser's own 'aborted').
  finished(body, (err) => {
    disarm();
    if (err) out.destroy(failure(err, received));
    else out.push(null);
  });
  body.pause();
  return out;
}
