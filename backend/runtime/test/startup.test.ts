/**
 * Start-up and the edges of the loop as the course runtime has them: no
 * REDIS_OUTPUT_KEY means the handler runs and nothing is written; an empty
 * input is skipped, not an error; `<output>:error` holds the last error and
 * is marked resolved, with a time, after the next successful call.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';

const PRINTS_AND_RETURNS = `
def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    print('called with', input['v'], 'output_key', context.output_key, 'n', context.env['n'])
    if input.get('fail'):
        raise ValueError('failing on purpose')
    return {'v': input['v'], 'n': context.env['n']}
`;

describe('start-up and loop edges', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('without REDIS_OUTPUT_KEY it warns, still calls the handler, and writes nothing', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', PRINTS_AND_RETURNS);
    const input = bed.key('nokey:in');
    await bed.redis.set(input, '{"v": 1}');
    const { logs, runtime } = await bed.start({ inputKey: input, functionPath: file });
    assert.ok(
      logs.some((l) => l.level === 40 && l.msg.includes('REDIS_OUTPUT_KEY is not set')),
      'a warning at start',
    );
    await waitFor('first call', () => logs.some((l) => l.source === 'handler' && l.msg === 'called with 1 output_key None n 1'));
    await bed.redis.set(input, '{"v": 2}');
    await waitFor('second call', () => logs.some((l) => l.source === 'handler' && l.msg === 'called with 2 output_key None n 2'));
    await bed.redis.set(input, '{"v": 3, "fail": true}');
    await waitFor('failing call', () => logs.some((l) => l.msg === 'handler failed' && l.input_key === input));
    await bed.waitPolls(runtime, 2);
    assert.deepEqual(await bed.keysUnder(`${bed.prefix}*`), [input], 'only the input key exists');
  });

  test('an empty input is skipped: no call, no error', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', PRINTS_AND_RETURNS);
    const input = bed.key('empty:in');
    const output = bed.key('empty:out');
    await bed.redis.set(input, '');
    const { runtime, logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.waitPolls(runtime, 3);
    assert.equal(await bed.redis.exists(output, `${output}:error`, `${output}:stats`), 0);
    assert.equal(logs.filter((l) => l.msg === 'handler failed').length, 0);
    await bed.redis.set(input, '{"v": 1}');
    await bed.waitInvocations(output, 1);
    await bed.redis.set(input, '');
    await bed.waitPolls(runtime, 3);
    const stats = await bed.stats(output);
    assert.equal(stats?.invocations, 1);
    assert.equal(stats?.errors, 0);
    assert.equal(await bed.redis.exists(`${output}:error`), 0);
    assert.deepEqual(await bed.getJson(output), { v: 1, n: 1 }, 'the last output stays');
  });

  test('the :error companion keeps the last error, and is marked resolved with a time after the next success', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', PRINTS_AND_RETURNS);
    const input = bed.key('resolve:in');
    const output = bed.key('resolve:out');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.redis.set(input, '{"v": 1, "fail": true}');
    await bed.waitInvocations(output, 1);
    const open = await bed.lastError(output);
    assert.equal(open?.error, 'ValueError: failing on purpose');
    assert.equal(open?.resolved, undefined);

    await bed.redis.set(input, '{"v": 2}');
    await bed.waitInvocations(output, 2);
    const resolved = (await bed.lastError(output))!;
    assert.equal(resolved.error, 'ValueError: failing on purpose', 'what went wrong is still there');
    assert.equal(resolved.resolved, true);
    assert.ok(Date.parse(resolved.resolved_at!) >= Date.parse(resolved.at), 'resolved after it happened');

    // A later success leaves the record as it is; a new failure replaces it.
    await bed.redis.set(input, '{"v": 3}');
    await bed.waitInvocations(output, 3);
    assert.deepEqual(await bed.lastError(output), resolved);
    await bed.redis.set(input, '{"v": 4, "fail": true}');
    await bed.waitInvocations(output, 4);
    const again = await bed.lastError(output);
    assert.equal(again?.resolved, undefined);
    assert.notEqual(again?.at, resolved.at);
  });
});
