/**
 * Handlers that raise, hang, crash or return non-JSON, bad input, and a
 * hostile ZIP: each is logged, reported under `<output>:error`, and the
 * runtime goes on to process the next input.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';
import { makeZip } from './support/zip.js';

/** Behaves according to input['do']; counts calls in context.env and reports its pid. */
const MISBEHAVING = `
import os, sys, time

def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    what = input['do']
    if what == 'raise':
        raise ValueError('bad value %r' % input.get('x'))
    if what == 'hang':
        while True:
            time.sleep(0.05)
    if what == 'exit':
        sys.exit(3)
    if what == 'die':
        os._exit(7)
    if what == 'set':
        return {'s': {1, 2}}
    if what == 'nan':
        return {'x': float('nan')}
    if what == 'datetime':
        import datetime
        return {'t': datetime.datetime.now()}
    return {'ok': input.get('x'), 'n': context.env['n'], 'pid': os.getpid()}
`;

describe('failures in python handlers', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  async function setup(name: string, timeout = 10) {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', MISBEHAVING);
    const input = bed.key(`${name}:in`);
    const output = bed.key(`${name}:out`);
    const started = await bed.start({ inputKey: input, outputKey: output, functionPath: file, handlerTimeoutSeconds: timeout });
    let calls = 0;
    /** Sets the input and waits for the runtime to have handled it. */
    const send = async (value: Record<string, unknown> | string) => {
      await bed.redis.set(input, typeof value === 'string' ? value : JSON.stringify(value));
      return bed.waitInvocations(output, ++calls);
    };
    return { ...started, input, output, send };
  }

  test('a raising handler is reported with its traceback, nothing is written, and the next input works', async () => {
    const { output, send } = await setup('raise');
    await send({ do: 'raise', x: 42 });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'exception');
    assert.equal(error?.error, 'ValueError: bad value 42');
    assert.match(error?.detail ?? '', /Traceback[\s\S]*ValueError/);
    assert.equal(error?.handler, 'usermodule.handler');
    assert.equal(await bed.redis.get(output), null);

    await send({ do: 'ok', x: 1 });
    const out = await bed.getJson<{ ok: number; n: number }>(output);
    assert.equal(out?.ok, 1);
    assert.equal(out?.n, 2, 'env kept: raising does not lose state');
    const stats = await bed.stats(output);
    assert.equal(stats?.errors, 1);
    assert.deepEqual(stats?.errors_by_kind, { exception: 1 });
    assert.equal(stats?.successes, 1);
  });

  test('sys.exit() inside the handler is just an exception', async () => {
    const { output, send } = await setup('exit');
    await send({ do: 'exit' });
    assert.equal((await bed.lastError(output))?.error, 'SystemExit: 3');
    await send({ do: 'ok', x: 2 });
    assert.equal((await bed.getJson<{ n: number }>(output))?.n, 2);
  });

  test('a hung handler times out: python is killed and restarted, state reported lost, the next input works', async () => {
    const { output, send, logs } = await setup('hang', 0.5);
    await send({ do: 'ok', x: 1 });
    const before = await bed.getJson<{ pid: number; n: number }>(output);
    assert.equal(before?.n, 1);

    await send({ do: 'hang' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'timeout');
    assert.equal(error?.state_lost, true);
    assert.match(error?.error ?? '', /did not return within 0.5 s.*killed and restarted.*lost/);
    assert.ok(
      logs.some((l) => l.msg.includes('context.env') && l.level >= 40),
      'state loss is logged',
    );
    assert.equal(existsSync(`/proc/${before.pid}`), false, 'the hung python process is gone');

    await send({ do: 'ok', x: 3 });
    const after = await bed.getJson<{ ok: number; pid: number; n: number }>(output);
    assert.equal(after?.ok, 3);
    assert.notEqual(after?.pid, before?.pid, 'a new python process');
    assert.equal(after?.n, 1, 'context.env started afresh');
    const stats = await bed.stats(output);
    assert.equal(stats?.state_resets, 1);
    assert.deepEqual(stats?.errors_by_kind, { timeout: 1 });
  });

  test('a handler that kills its own process is a crash: restarted, and the runtime goes on', async () => {
    const { output, send } = await setup('die');
    await send({ do: 'die' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'crash');
    assert.equal(error?.state_lost, true);
    await send({ do: 'ok', x: 4 });
    assert.equal((await bed.getJson<{ ok: number }>(output))?.ok, 4);
  });

  test('non-JSON results (a set, NaN, a datetime) are reported as invalid_output and not written', async () => {
    const { output, send } = await setup('nonjson');
    await send({ do: 'ok', x: 'first' });
    for (const what of ['set', 'nan', 'datetime']) {
      await send({ do: what });
      const error = await bed.lastError(output);
      assert.equal(error?.kind, 'invalid_output', what);
      assert.match(error?.error ?? '', /result is not JSON/);
      assert.equal((await bed.getJson<{ ok: string }>(output))?.ok, 'first', `${what} must not overwrite`);
    }
    await send({ do: 'ok', x: 'last' });
    assert.equal((await bed.getJson<{ ok: string }>(output))?.ok, 'last');
  });

  test('an input that is not JSON is reported as invalid_input', async () => {
    const { output, send } = await setup('badinput');
    await send('this is {not json');
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'invalid_input');
    await send({ do: 'ok', x: 5 });
    assert.equal((await bed.getJson<{ ok: number }>(output))?.ok, 5);
  });

  test('a zip-slip archive is refused and reported; a good archive in its place is then loaded', async () => {
    const dir = await bed.dir();
    // The archive is extracted into a fresh folder under the temp dir, so this entry aims at the temp dir itself.
    const escapeName = `escaped-${path.basename(dir)}.py`;
    const zipPath = await bed.writeFile(
      dir,
      'function.zip',
      makeZip([
        { name: 'main.py', data: 'def handler(input, context):\n    return {"evil": False}\n' },
        { name: `../${escapeName}`, data: 'print("pwned")\n' },
      ]),
    );
    const input = bed.key('slip:in');
    const output = bed.key('slip:out');
    await bed.redis.set(input, '{"x": 1}');
    const { runtime, logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: zipPath, handlerFunction: 'main.handler' });

    const error = await waitFor('unsafe_archive error', () => bed.lastError(output));
    assert.equal(error.kind, 'unsafe_archive');
    assert.match(error.error, /escapes the target folder/);
    assert.ok(logs.some((l) => l.kind === 'unsafe_archive'));
    assert.equal(runtime.status().loaded, false);
    assert.equal(existsSync(path.join(os.tmpdir(), escapeName)), false);
    await bed.waitPolls(runtime, 3);
    assert.equal(await bed.redis.get(output), null, 'nothing ran');

    await bed.writeFile(
      dir,
      'function.zip',
      makeZip([{ name: 'main.py', data: 'def handler(input, context):\n    return {"evil": False, "x": input["x"]}\n' }]),
      10,
    );
    await waitFor('good archive output', async () => (await bed.getJson<{ x: number }>(output))?.x === 1);
    assert.equal(runtime.status().loaded, true);
  });

  test('a module without the named function is a load error the runtime survives', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', 'def other(input, context):\n    return 1\n');
    const output = bed.key('nofn:out');
    const { runtime } = await bed.start({ inputKey: bed.key('nofn:in'), outputKey: output, functionPath: file });
    const error = await waitFor('load error', () => bed.lastError(output));
    assert.equal(error.kind, 'load');
    assert.match(error.error, /has no function 'handler'/);
    await bed.waitPolls(runtime, 2);
    assert.equal(runtime.status().loaded, false);
  });

  test('a python3 that cannot be started is a load error the runtime survives', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', MISBEHAVING);
    const output = bed.key('nopython:out');
    const { runtime } = await bed.start({
      inputKey: bed.key('nopython:in'),
      outputKey: output,
      functionPath: file,
      pythonBin: '/nonexistent/python3',
    });
    const error = await waitFor('load error', () => bed.lastError(output));
    assert.equal(error.kind, 'load');
    assert.match(error.error, /cannot start \/nonexistent\/python3/);
    await bed.waitPolls(runtime, 2);
  });
});
