/**
 * Writing a stream as a response, for every download: backpressure from the
 * socket back to the source (pipeline), counted as a download in progress
 * (a graceful stop waits for it), and any failure once the headers are out
 * ends the response as a truncated transfer (the socket is destroyed: no
 * final chunk, fewer bytes than Content-Length), so the client knows at
 * once instead of waiting on a connection that never ends.
 */
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { Logger } from '../../logger.js';
import type { ActiveDownloads } from './active-downloads.js';

/** Fails when a stream carries other than `expected` bytes: a response must never disagree with its Content-Length. */
export function exactLength(expected: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > expected) callback(new Error(`the download has more than the ${expected} bytes announced`));
      else callback(null, chunk);
    },
    flush(callback) {
      callback(seen === expected ? null : new Error(`the download ended after ${seen} of the ${expected} bytes announced`));
    },
  });
}

/**
 * Pipes `body` into `res` (headers set by the caller). Resolves when the
 * response is complete or was cut; never rejects: an error after the
 * headers can only end the transfer, which is done here.
 */
export async function streamBody(
  res: Response,
  body: Readable,
  deps: { active: ActiveDownloads; logger: Logger },
  what: string,
  expectedLength?: number,
): Promise<void> {
  const { active, logger } = deps;
  const end = active.begin();
  try {
    if (expectedLength === undefined) await pipeline(body, res);
    else await pipeline(body, exactLength(expectedLength), res);
  } catch (err) {
    // A client that went away is not worth a warning; anything else is.
    if (!isClientGone(err)) logger.warn({ err, what }, 'download cut short');
    body.destroy();
    res.destroy();
  } finally {
    end();
  }
}

function isClientGone(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}
