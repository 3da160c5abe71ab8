/** With no database configured the backend starts its own PostgreSQL, in its own data folder, reused across runs. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { BatchSummary, ImageListResponse, UploadResponse } from '../../src/contract/api.js';
import { createLogger } from '../../src/logger.js';
import { startBackend } from '../../src/server.js';
import { getJson, upload, waitFor } from '../support/backend.js';
import { makeImage } from '../support/images.js';

describe('embedded PostgreSQL (no DATABASE_URL)', () => {
  let dataDir: string;
  after(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts a real server on first run, and finds the same data on the next', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-embedded-'));
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(20000 + Math.floor(Math.random() * 20000)),
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
    const logger = createLogger('warn');
    const first = await startBackend(env, { logger });
    let batchId: string;
    try {
      assert.match(first.databaseUrl, /^postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/imagedb$/);
      const res = await upload(first.url, [{ name: 'kept.jpg', data: await makeImage({ width: 1200, height: 900 }) }]);
      ({ batchId } = (await res.json()) as UploadResponse);
      await waitFor(async () => (await getJson<BatchSummary>(`${first.url}/api/v1/batches/${batchId}`)).body.completed === 1);
    } finally {
      await first.stop(2000);
    }
    const second = await startBackend(env, { logger });
    try {
      const { body } = await getJson<ImageListResponse>(`${second.url}/api/v1/images?batchId=${batchId}`);
      assert.deepEqual(
        body.images.map((i) => [i.filename, i.status]),
        [['kept.jpg', 'completed']],
      );
    } finally {
      await second.stop(2000);
    }
  });
});
