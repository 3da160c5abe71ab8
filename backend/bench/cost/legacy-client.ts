/**
 * The earlier web system's client, as issue 14 measured it: POST /upload one
 * photo per request with 8 requests in flight, and `GET /status/:id/json`
 * every 100 ms per image until it is done (what the held-out client does).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { upload } from '../../test/support/backend.js';

export interface LegacyRun {
  seconds: number;
  polls: number;
  /** Polls answered 503 (the backend found no database connection in time); the client polls on. */
  unavailable: number;
  /** Polls that failed at the connection (reset), polled again. */
  errors: number;
  failed: number;
}

interface LegacyUploadAnswer {
  images: { id: number; status: string }[];
}

async function pollUntilDone(url: string, id: number, pollMs: number, count: { polls: number; unavailable: number; errors: number }): Promise<string> {
  let errorsInARow = 0;
  for (;;) {
    await sleep(pollMs);
    let res: Response;
    let body: { status: string };
    try {
      res = await fetch(`${url}/status/${id}/json`);
      body = (await res.json()) as { status: string };
    } catch (err) {
      // A kept-alive socket the server closed just as it was reused: the
      // client polls again. Many in a row means the backend is gone.
      count.errors++;
      if (++errorsInARow >= 50) throw err;
      continue;
    }
    errorsInARow = 0;
    count.polls++;
    if (res.status === 503) {
      count.unavailable++;
      continue;
    }
    if (res.status !== 200) throw new Error(`GET /status/${id}/json answered ${res.status}: ${JSON.stringify(body)}`);
    if (body.status === 'completed' || body.status === 'failed') return body.status;
  }
}

/** Sends `count` photos (cycling through `files`) spread over `urls`; resolves when every one is done. */
export async function legacyBatch(
  urls: string[],
  files: Buffer[],
  count: number,
  options: { inFlight?: number; pollMs?: number; prefix?: string } = {},
): Promise<LegacyRun> {
  const { inFlight = 8, pollMs = 100, prefix = 'photo' } = options;
  const started = Date.now();
  const tally = { polls: 0, unavailable: 0, errors: 0 };
  const outcomes: Promise<string>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        const url = urls[i % urls.length]!;
        const res = await upload(url, [{ name: `${prefix}-${i}.jpg`, data: files[i % files.length]! }], { path: '/upload' });
        const body = (await res.json()) as LegacyUploadAnswer;
        if (res.status !== 202 || !body.images?.[0]) throw new Error(`POST /upload answered ${res.status}: ${JSON.stringify(body)}`);
        outcomes.push(pollUntilDone(url, body.images[0].id, pollMs, tally));
      }
    }),
  );
  const statuses = await Promise.all(outcomes);
  return {
    seconds: (Date.now() - started) / 1000,
    polls: tally.polls,
    unavailable: tally.unavailable,
    errors: tally.errors,
    failed: statuses.filter((s) => s !== 'completed').length,
  };
}

/** `polls` status polls of one image, `concurrency` at a time: the cost of answering them. */
export async function statusPolls(url: string, id: number, polls: number, concurrency = 4): Promise<void> {
  let left = polls;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const res = await fetch(`${url}/status/${id}/json`);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`GET /status/${id}/json answered ${res.status}`);
      }
    }),
  );
}
