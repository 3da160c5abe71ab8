/** Configuration is validated at start-up; a bad value stops the process with a message naming the variable. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, databaseTarget, loadEnv, redisUrl } from '../../src/config/env.js';
import { MAIN_JS } from '../support/backend.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const env = loadEnv({});
    assert.equal(env.PORT, 8080);
    assert.equal(env.WORKER_THREADS, 4);
    assert.equal(env.MAX_WIDTH, 800);
    assert.equal(env.MAX_HEIGHT, 600);
    assert.equal(env.JPEG_QUALITY, 85);
    assert.equal(env.MAX_UPLOAD_BYTES, 50 * 1024 * 1024);
    assert.equal(env.MAX_PIXELS, 100_000_000);
    assert.equal(env.METRICS_PERIOD, 5);
    assert.equal(env.DB_NAME, 'imagedb');
    assert.deepEqual(databaseTarget(env), { kind: 'embedded' });
    assert.equal(redisUrl(env), undefined);
  });

  it("accepts DATABASE_URL, or the earlier system's DB_HOST/DB_USER/DB_PASSWORD", () => {
    assert.deepEqual(databaseTarget(loadEnv({ DATABASE_URL: 'postgres://u:p@h:1/d' })), { kind: 'url', url: 'postgres://u:p@h:1/d' });
    assert.deepEqual(databaseTarget(loadEnv({ DB_HOST: 'postgres', DB_USER: 'postgres', DB_PASSWORD: 'p@ss word' })), {
      kind: 'url',
      url: 'postgres://postgres:p%40ss%20word@postgres:5432/imagedb',
    });
    assert.equal(redisUrl(loadEnv({ REDIS_HOST: 'redis' })), 'redis://redis:6379');
  });

  it('names every bad variable', () => {
    assert.throws(
      () => loadEnv({ WORKER_THREADS: 'many', JPEG_QUALITY: '150', PORT: '-1' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /WORKER_THREADS="many"/);
        assert.match(err.message, /JPEG_QUALITY="150"/);
        assert.match(err.message, /PORT="-1"/);
        return true;
      },
    );
  });

  it('makes the backend exit 2 with that message instead of starting', () => {
    const run = spawnSync(process.execPath, [MAIN_JS], { env: { PATH: process.env.PATH, MAX_WIDTH: 'wide' }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /invalid configuration/);
    assert.match(run.stderr, /MAX_WIDTH="wide"/);
  });
});
