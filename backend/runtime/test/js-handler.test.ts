/**
 * JavaScript handlers: same contract as Python (env per context, last_execution,
 * only-on-change), run in a process of their own so a hung one can be stopped.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { formatMtime } from '../src/function-loader.js';
import { RuntimeTestBed, waitFor } from './support/harness.js';
import { makeZip } from './support/zip.js';

const COUNTER_MJS = `
export function handler(input, context) {
  context.env.n = (context.env.n ?? 0) + 1;
  context.env.seen ??= new Map();            // live objects are fine in env
  context.env.seen.set(input.t, input.cpu);
  if (input.do === 'function') return { ok: true, callback: () => 1 };
  if (input.do === 'set') return { values: new Set([1, 2]) };
  if (input.do === 'throw') throw new RangeError('cpu out of range: ' + input.cpu);
  if (input.do === 'reject') return Promise.reject(new Error('async failure'));
  if (input.do === 'spin') { for (;;) {} }
  if (input.do === 'never') return new Promise(() => {});
  if (input.do === 'nothing') return null;
  if (input.do === 'stray') {
    setTimeout(() => { throw new Error('late boom'); }, 0);
    Promise.reject(new Error('forgotten'));
    return null;
  }
  console.log('js handler saw', input.t);
  return {
    n: context.env.n,
    seen: context.env.seen.size,
    cpu: input.cpu,
    first_call: context.last_execution === null,
    last_execution_is_date: context.last_execution instanceof Date,
    input_key: context.input_key,
    mtime: context.function_getmtime,
    pid: process.pid,
  };
}
`;

describe('javascript handlers', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  async function setup(name: string, file: string, timeout = 10) {
    const input = bed.key(`${name}:in`);
    const output = bed.key(`${name}:out`);
    const started = await bed.start({ inputKey: input, outputKey: output, functionPath: file, handlerTimeoutSeconds: timeout });
    let calls = 0;
    const send = async (value: Record<string, unknown>) => {
      await bed.redis.set(input, JSON.stringify(value));
      return bed.waitInvocations(output, ++calls);
    };
    return { ...started, input, output, send };
  }

  test('an ES module handler keeps env between calls and sees the course context', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'handler.mjs', COUNTER_MJS);
    const { output, send, logs, runtime } = await setup('mjs', file);
    await send({ t: 1, cpu: 12.5 });
    const { pid, ...first } = (await bed.getJson(output))!;
    assert.equal(typeof pid, 'number');
    assert.deepEqual(first, {
      n: 1,
      seen: 1,
      cpu: 12.5,
      first_call: true,
      last_execution_is_date: false,
      input_key: bed.key('mjs:in'),
      mtime: formatMtime((await stat(file)).mtimeMs / 1000),
    });
    assert.match(String(first.mtime), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, "the course runtime's '%Y-%m-%d %H:%M:%S'");
    await send({ t: 2, cpu: 30 });
    const out = await bed.getJson(output);
    assert.equal(out?.n, 2);
    assert.equal(out?.seen, 2);
    assert.equal(out?.first_call, false);
    assert.equal(out?.last_execution_is_date, true);
    assert.notEqual(out?.pid, process.pid, "runs in a process of its own, not in the runtime's");
    assert.ok(logs.some((l) => l.source === 'handler' && l.msg.includes('js handler saw 2')));
    assert.equal(runtime.status().language, 'javascript');
  });

  test('a CommonJS handler picked by HANDLER_FUNCTION', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.cjs', 'exports.compute = (input, context) => ({ doubled: input.v * 2, key: context.output_key });\n');
    const input = bed.key('cjs:in');
    const output = bed.key('cjs:out');
    await bed.redis.set(input, '{"v": 21}');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file, handlerFunction: 'usermodule.compute' });
    await bed.waitInvocations(output, 1);
    assert.deepEqual(await bed.getJson(output), { doubled: 42, key: output });
  });

  test('throwing, rejecting and non-JSON results are reported; the runtime goes on', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'handler.mjs', COUNTER_MJS);
    const { output, send, logs } = await setup('jsfail', file);
    await send({ t: 1, cpu: 1 });

    await send({ t: 2, cpu: 900, do: 'throw' });
    let error = await bed.lastError(output);
    assert.equal(error?.kind, 'exception');
    assert.equal(error?.error, 'RangeError: cpu out of range: 900');
    assert.match(error?.detail ?? '', /RangeError[\s\S]*handler\.mjs/);

    await send({ t: 3, do: 'reject' });
    assert.equal((await bed.lastError(output))?.error, 'Error: async failure');

    await send({ t: 4, do: 'function' });
    error = await bed.lastError(output);
    assert.equal(error?.kind, 'invalid_output');
    assert.match(error?.error ?? '', /\$\.callback is a function/);

    await send({ t: 5, do: 'set' });
    assert.match((await bed.lastError(output))?.error ?? '', /\$\.values is a Set/);

    await send({ t: 6, do: 'nothing' });
    assert.equal((await bed.getJson<{ n: number }>(output))?.n, 1, 'failures and null wrote nothing');

    // Errors escaping the call (a timer, a forgotten promise) are logged; the process lives on.
    await send({ t: 7, do: 'stray' });
    await waitFor(
      'stray errors logged',
      () =>
        logs.some((l) => l.msg === 'uncaughtException in handler code' && l.err === 'Error: late boom') &&
        logs.some((l) => l.msg === 'unhandledRejection in handler code' && l.err === 'Error: forgotten'),
    );

    await send({ t: 8, cpu: 8 });
    const out = await bed.getJson<{ n: number; cpu: number }>(output);
    assert.equal(out?.cpu, 8);
    assert.equal(out?.n, 8, 'env kept through the failures');
    const stats = await bed.stats(output);
    assert.deepEqual(stats?.errors_by_kind, { exception: 2, invalid_output: 2 });
    assert.equal(stats?.empty_results, 2);
  });

  test('a handler spinning forever is stopped: process killed and restarted, env lost, next input works', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'handler.mjs', COUNTER_MJS);
    const { output, send, runtime } = await setup('spin', file, 0.5);
    await send({ t: 1, cpu: 1 });
    await send({ t: 2, cpu: 2 });
    const before = await bed.getJson<{ n: number; pid: number }>(output);
    assert.equal(before?.n, 2);

    await send({ t: 3, do: 'spin' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'timeout');
    assert.equal(error?.state_lost, true);
    assert.match(error?.error ?? '', /handler process was killed and restarted/);

    // The event loop was never blocked: polls went on while the handler spun.
    await bed.waitPolls(runtime, 2);
    await send({ t: 4, cpu: 4 });
    const after = await bed.getJson<{ n: number; pid: number; cpu: number }>(output);
    assert.equal(after?.cpu, 4);
    assert.equal(after?.n, 1, 'env started afresh');
    assert.notEqual(after?.pid, before?.pid, 'a new handler process');

    await send({ t: 5, do: 'never' });
    assert.equal((await bed.lastError(output))?.kind, 'timeout', 'a promise that never settles times out too');
    await send({ t: 6, cpu: 6 });
    assert.equal((await bed.getJson<{ cpu: number }>(output))?.cpu, 6);
  });

  test('reloads a changed JS file and a ZIP of JS modules', async () => {
    const dir = await bed.dir();
    const zipFile = (version: number) =>
      makeZip([
        { name: 'main.mjs', data: "import { label } from './lib/label.mjs';\nexport const handler = (input) => ({ label: label(input.v) });\n" },
        { name: 'lib/label.mjs', data: `export const label = (v) => 'v${version}:' + v;\n` },
      ]);
    const zip = await bed.writeFile(dir, 'function.zip', zipFile(1));
    const input = bed.key('jszip:in');
    const output = bed.key('jszip:out');
    await bed.redis.set(input, '{"v": "a"}');
    await bed.start({ inputKey: input, outputKey: output, functionPath: zip, handlerFunction: 'main.handler' });
    await waitFor('v1', async () => (await bed.getJson<{ label: string }>(output))?.label === 'v1:a');
    await bed.writeFile(dir, 'function.zip', zipFile(2), 10);
    await waitFor('reloaded', async () => (await bed.stats(output))?.reloads === 1);
    await bed.redis.set(input, '{"v": "b"}');
    // The imported module changed too: each ZIP version is extracted afresh.
    await waitFor('v2', async () => (await bed.getJson<{ label: string }>(output))?.label === 'v2:b');
  });

  test('OUTPUT_TTL puts an expiry on the output and its companions', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'handler.mjs', 'export const handler = (input) => (input.fail ? JSON.parse("{") : { v: input.v });\n');
    const input = bed.key('ttl:in');
    const output = bed.key('ttl:out');
    await bed.redis.set(input, '{"v": 1}');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file, outputTtlSeconds: 30 });
    await bed.waitInvocations(output, 1);
    await bed.redis.set(input, '{"fail": true}');
    await bed.waitInvocations(output, 2);
    for (const key of [output, `${output}:stats`, `${output}:error`]) {
      const ttl = await bed.redis.ttl(key);
      assert.ok(ttl > 0 && ttl <= 30, `${key} ttl ${ttl}`);
    }
  });
});
