/**
 * What the course image offered handlers besides the standard library:
 * `import redis` (redis-py; in the image Debian's python3-redis, here the
 * same package for /usr/bin/python3), and requirements installed at start
 * (REQUIREMENTS, or NEW_REQUERIMENTS as a file) from a configurable index.
 * The index is a local folder of wheels built by the test, never the
 * internet; an unreachable index is a clear error and the runtime lives on.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runBin } from './support/bin.js';
import { RuntimeTestBed, TEST_REDIS_URL, waitFor } from './support/harness.js';
import { freePort } from './support/redis-server.js';
import { makeZip } from './support/zip.js';

/** A pure-Python wheel of one module, as pip expects it (py3-none-any). */
function wheel(name: string, version: string, source: string): { file: string; data: Buffer } {
  const info = `${name}-${version}.dist-info`;
  const files: [string, string][] = [
    [`${name}/__init__.py`, source],
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`],
    [`${info}/WHEEL`, 'Wheel-Version: 1.0\nGenerator: imgfleet-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'],
  ];
  const record = [...files.map(([f]) => `${f},,`), `${info}/RECORD,,`].join('\n') + '\n';
  return {
    file: `${name}-${version}-py3-none-any.whl`,
    data: makeZip([...files, [`${info}/RECORD`, record]].map(([n, d]) => ({ name: n!, data: d! }))),
  };
}

const USES_PACKAGES = `
import tinyvalue
import tinyunit

def handler(input, context):
    return {'value': tinyvalue.VALUE * input['x'], 'unit': tinyunit.UNIT, 'from': tinyvalue.__file__.split('/')[-2]}
`;

const NEEDS_NOTHING = `
def handler(input, context):
    return {'x': input['x']}
`;

/** pip must see only what the test gives it: no machine-wide pip.conf, no cache. */
const PIP_ISOLATED = { PIP_CONFIG_FILE: '/dev/null', PIP_NO_CACHE_DIR: '1', PIP_ROOT_USER_ACTION: 'ignore' };

describe('python packages for handlers', () => {
  const bed = new RuntimeTestBed();
  const running: ReturnType<typeof runBin>[] = [];
  after(async () => {
    for (const proc of running) proc.child.kill('SIGKILL');
    await bed.close();
  });

  test('a handler can `import redis` and talk to Redis with redis-py (Debian python3 with python3-redis, as in the image)', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(
      dir,
      'usermodule.py',
      `import redis\n\ndef handler(input, context):\n    r = redis.Redis(host=context.host, port=context.port, decode_responses=True)\n    r.set(context.output_key + ':side', 'set by redis-py %s' % redis.__version__)\n    return {'got': r.get(context.input_key)}\n`,
    );
    const input = bed.key('redispy:in');
    const output = bed.key('redispy:out');
    await bed.redis.set(input, '{"x": 1}');
    const url = new URL(TEST_REDIS_URL);
    await bed.start({
      inputKey: input,
      outputKey: output,
      functionPath: file,
      pythonBin: '/usr/bin/python3',
      redisHost: url.hostname,
      redisPort: Number(url.port || 6379),
    });
    await bed.waitInvocations(output, 1);
    assert.equal(await bed.lastError(output), null);
    assert.deepEqual(await bed.getJson(output), { got: '{"x": 1}' });
    assert.match((await bed.redis.get(`${output}:side`)) ?? '', /^set by redis-py \d+\./);
  });

  test('REQUIREMENTS and NEW_REQUERIMENTS are installed at start from the configured index (a local folder of wheels)', async () => {
    const index = await bed.dir();
    for (const w of [wheel('tinyvalue', '1.2', 'VALUE = 21\n'), wheel('tinyunit', '0.1', "UNIT = 'MiB'\n")]) {
      await writeFile(path.join(index, w.file), w.data);
    }
    const dir = await bed.dir();
    const fn = await bed.writeFile(dir, 'usermodule.py', USES_PACKAGES);
    const reqFile = await bed.writeFile(dir, 'requirements.txt', 'tinyunit==0.1\n');
    const packages = path.join(await bed.dir(), 'site');
    const input = bed.key('req:in');
    const output = bed.key('req:out');
    await bed.redis.set(input, '{"x": 2}');
    const proc = runBin({
      ...PIP_ISOLATED,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_INPUT_KEY: input,
      REDIS_OUTPUT_KEY: output,
      INTERVAL: '0.1',
      FUNCTION_PATH: fn,
      REQUIREMENTS: 'tinyvalue>=1.0',
      NEW_REQUERIMENTS: reqFile,
      PYTHON_PACKAGES_DIR: packages,
      PIP_NO_INDEX: '1',
      PIP_FIND_LINKS: index,
    });
    running.push(proc);
    await waitFor('output', async () => (await bed.redis.get(output)) !== null, 120_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify(proc.lines.slice(-20), null, 1)}\n${proc.stderr()}`);
    });
    assert.deepEqual(await bed.getJson(output), { value: 42, unit: 'MiB', from: 'tinyvalue' });
    assert.ok(proc.lines.some((l) => l.msg === 'Python requirements installed'));
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exit).code, 0);
  });

  test('an unreachable index is a clear error under :error; the runtime stays up and serves a handler that needs nothing', async () => {
    const dir = await bed.dir();
    const fn = await bed.writeFile(dir, 'usermodule.py', NEEDS_NOTHING);
    const input = bed.key('noindex:in');
    const output = bed.key('noindex:out');
    await bed.redis.set(input, '{"x": 5}');
    const closedPort = await freePort();
    const proc = runBin({
      ...PIP_ISOLATED,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_INPUT_KEY: input,
      REDIS_OUTPUT_KEY: output,
      INTERVAL: '0.1',
      FUNCTION_PATH: fn,
      REQUIREMENTS: 'tinyvalue',
      PYTHON_PACKAGES_DIR: path.join(await bed.dir(), 'site'),
      PIP_INDEX_URL: `http://127.0.0.1:${closedPort}/simple/`,
      PIP_RETRIES: '0',
      PIP_TIMEOUT: '2',
    });
    running.push(proc);
    const error = await waitFor('requirements error', () => bed.lastError(output), 120_000);
    assert.equal(error.kind, 'requirements');
    assert.match(error.error, /installing Python requirements \(tinyvalue\) failed: pip exited with code \d+; the runtime goes on without them/);
    assert.match(error.detail ?? '', /tinyvalue/);
    await waitFor('output', async () => (await bed.getJson(output)) !== null);
    assert.deepEqual(await bed.getJson(output), { x: 5 });
    const port = proc.healthPort();
    assert.ok(port);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(proc.child.exitCode, null, 'still running');
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exit).code, 0);
  });
});
