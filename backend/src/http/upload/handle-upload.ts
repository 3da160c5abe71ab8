/**
 * One upload request, start to end: a slot, a transaction, the key, the
 * files, the commit, the answer. All-or-nothing: a request that fails in
 * any way stores nothing (the transaction rolls back, or dies with the
 * connection) and its answer names every part it had read. With an
 * Idempotency-Key, a retry gets the first answer and stores nothing again.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { IngestTransaction, type StoredAnswer } from '../../queue/ingest.js';
import { AbortedError } from '../../util/semaphore.js';
import { dependencyHttpError, HttpError } from '../errors.js';
import type { UploadDeps } from './deps.js';
import { outputOptionsFromQuery } from '../../contract/output-options.js';
import { RequestFingerprint } from './fingerprint.js';
import { RequestOptions } from './request-options.js';
import { replayAnswer, type UploadAnswer } from './replay.js';
import { RequestLifecycle } from './request-lifecycle.js';
import { UploadSession } from './session.js';

export type { UploadAnswer } from './replay.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

export function idempotencyKey(req: Request): string | undefined {
  const raw = req.get('idempotency-key');
  if (raw === undefined) return undefined;
  if (!KEY.test(raw)) {
    throw new HttpError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good key)');
  }
  return raw;
}

/** The error to answer with, whatever went wrong (an abandoned wait becomes the reason it was abandoned). */
function asAnswerable(err: unknown): unknown {
  const cause = err instanceof AbortedError ? err.reason : err;
  if (cause instanceof HttpError) return cause;
  if (cause && typeof cause === 'object' && (cause as { code?: string }).code === '55P03') return keyInProgress();
  return dependencyHttpError(cause) ?? cause;
}

/**
 * A concurrent request holds the key: answered at once (the IETF
 * Idempotency-Key draft's 409), never by waiting, since a waiting request
 * would hold an upload slot and a connection for as long as the holder
 * takes; the client's retry after Retry-After gets the first answer.
 */
function keyInProgress(): HttpError {
  return new HttpError(409, 'IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still in progress; retry shortly', {}, { 'Retry-After': '2' });
}

type Claimed = { kind: 'stored'; answer: UploadAnswer } | { kind: 'replay'; stored: StoredAnswer };

/**
 * Holds an upload slot and a transaction: stores the request's files, or
 * finds its key answered (then the slot is let go before the replay reads
 * the body: a replay stores nothing and needs no slot).
 */
async function storeOrFindKey(
  req: Request,
  deps: UploadDeps,
  target: Target,
  key: string | undefined,
  life: RequestLifecycle,
  state: { session?: UploadSession },
): Promise<Claimed> {
  const options = new RequestOptions(deps.optionsSchema, req.query);
  const releaseSlot = await deps.requestSlots.acquire(life.signal);
  try {
    const tx = await IngestTransaction.begin(deps.ingestDb, deps.blobs, deps.dispatcher, deps.keyWaitMs, deps.transactionHeartbeatMs);
    try {
      const claim = key ? await tx.claimKey(key) : undefined;
      if (claim === 'in-progress') throw keyInProgress();
      if (claim) {
        await tx.rollback();
        return { kind: 'replay', stored: claim };
      }
      const batch = target.batchId ?? randomUUID();
      // Only a request with a key is ever compared with another: hashing its files is for it alone.
      const session = new UploadSession(tx, deps, batch, key ? fingerprintOf(req, target) : undefined, options, life.signal);
      state.session = session;
      await session.run(req);
      const body = JSON.stringify(session.outcomes.response(batch, options.options()));
      await tx.commit(key && session.fingerprint ? { key, fingerprint: session.fingerprint.digest(), statusCode: 202, body } : undefined);
      deps.logger.info({ batchId: batch, files: session.outcomes.count }, 'upload received');
      return { kind: 'stored', answer: { status: 202, body, replayed: false } };
    } catch (err) {
      await tx.rollback(err);
      throw err;
    }
  } finally {
    releaseSlot();
  }
}

interface Target {
  route: string;
  batchId?: string;
}

function fingerprintOf(req: Request, target: Target): RequestFingerprint {
  return new RequestFingerprint(target.route, target.batchId, outputOptionsFromQuery(req.query));
}

export async function handleUpload(req: Request, deps: UploadDeps, target: Target): Promise<UploadAnswer> {
  if (!req.is('multipart/form-data')) throw new HttpError(415, 'NOT_MULTIPART', 'send the images as multipart/form-data');
  const key = idempotencyKey(req);
  const endUpload = deps.uploads.begin();
  const life = new RequestLifecycle(req, deps.idleTimeoutMs);
  const state: { session?: UploadSession } = {};
  try {
    const claimed = await storeOrFindKey(req, deps, target, key, life, state);
    if (claimed.kind === 'stored') return claimed.answer;
    return await replayAnswer(req, deps, claimed.stored, fingerprintOf(req, target), life.signal);
  } catch (err) {
    const answer = asAnswerable(err);
    if (answer instanceof HttpError && state.session) {
      const images = state.session.outcomes.unstored();
      throw new HttpError(
        answer.status,
        answer.code,
        `${answer.message}; nothing of this request was stored`,
        { stored: 0, images, ...answer.details },
        answer.headers,
      );
    }
    throw answer;
  } finally {
    life.dispose();
    endUpload();
  }
}
