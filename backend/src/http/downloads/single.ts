/**
 * One image's bytes as a response (a result or an original), streamed from
 * the source with backpressure. A single `Range` is honoured (206, or 416
 * when it cannot be satisfied): the source reads only that range, so a
 * resumed download costs only what is left. Several ranges get the whole
 * body (RFC 9110 allows it), which is what browsers and curl handle best.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../../logger.js';
import type { ActiveDownloads } from './active-downloads.js';
import { attachmentHeader } from './content-disposition.js';
import { streamBody } from './respond.js';
import type { ByteRange } from './source.js';
import type { Readable } from 'node:stream';

export interface SingleDownload {
  size: number;
  contentType: string;
  /** Sent as an attachment under this name; inline when absent. */
  attachmentName?: string;
  open(range?: ByteRange): Promise<Readable>;
}

/** The one range to serve, 'unsatisfiable', or undefined for the whole body. */
function rangeOf(req: Request, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (req.headers.range === undefined) return undefined;
  const ranges = req.range(size, { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  if (ranges === undefined || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  const [only] = ranges;
  return only ? { start: only.start, end: only.end } : undefined;
}

export async function sendSingle(req: Request, res: Response, download: SingleDownload, deps: { active: ActiveDownloads; logger: Logger }): Promise<void> {
  const range = rangeOf(req, download.size);
  res.set('Accept-Ranges', 'bytes');
  res.type(download.contentType);
  if (download.attachmentName !== undefined) res.set('Content-Disposition', attachmentHeader(download.attachmentName));
  if (range === 'unsatisfiable') {
    res.status(416).set('Content-Range', `bytes */${download.size}`).end();
    return;
  }
  const length = range ? (range.end ?? download.size - 1) - range.start + 1 : download.size;
  if (req.method === 'HEAD') {
    if (range) res.status(206).set('Content-Range', `bytes ${range.start}-${range.start + length - 1}/${download.size}`);
    res.set('Content-Length', String(length)).end();
    return;
  }
  // Opened before the headers: a source that fails now still gets a proper JSON error.
  const body = await download.open(range);
  if (range) res.status(206).set('Content-Range', `bytes ${range.start}-${range.start + length - 1}/${download.size}`);
  res.set('Content-Length', String(length));
  await streamBody(res, body, deps, `image download ${req.path}`, length);
}
